"""PostgreSQL connection details the way people write them: raw passwords, libpq's variables, bad options."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import dbsnap
from dbsnap.drivers.pgconn import PgTarget
from dbsnap.exceptions import ConfigError
from tests.conftest import run_cli
from tests.pgcorpus import pg_dump_text
from tests.pgserver import Cluster

# What password generators make: '/', '@' and ':' that nobody percent-encodes.
RAW = "s3cr/et@P4ss:w0rd"
RAW_PARTS = ["s3cr", "et@P4ss", "P4ss", "w0rd"]
ROLE = "dbsnap_raw"


@pytest.fixture(scope="module")
def raw_db(pg: Cluster) -> str:
    """A database owned by a role whose password holds '/', '@' and ':'; return the raw (unencoded) URL."""
    with pg.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS raw_pw WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {ROLE}")
        conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{RAW}'")
        conn.execute(f"CREATE DATABASE raw_pw OWNER {ROLE}")
    with pg.connect("raw_pw") as conn:
        conn.execute(f"SET ROLE {ROLE}; CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 100)")
    return f"postgresql://{ROLE}:{RAW}@127.0.0.1:{pg.port}/raw_pw"


def _clean(text: str) -> None:
    for part in RAW_PARTS:
        assert part not in text, text


def test_a_raw_password_with_slash_and_at_is_read_as_libpq_would_not(
    pg: Cluster, raw_db: str, tmp_path: Path
) -> None:
    target = PgTarget.parse(raw_db)
    assert target.password == RAW and target.params["user"] == ROLE and target.dbname == "raw_pw"
    store = tmp_path / "s"
    made = run_cli("snapshot", "--store", str(store), "--json", env={"DBSNAP_DATABASE_URL": raw_db})
    assert made.returncode == 0, made.stderr
    _clean(made.stdout + made.stderr)
    name = json.loads(made.stdout)["snapshot"]["name"]
    with pg.connect("raw_pw") as conn:
        conn.execute("DELETE FROM t")
    restored = run_cli("restore", name, "--yes", "--store", str(store), env={"DBSNAP_DATABASE_URL": raw_db})
    assert restored.returncode == 0, restored.stderr
    _clean(restored.stdout + restored.stderr)
    with pg.connect("raw_pw") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 100


def test_errors_and_webhooks_show_no_part_of_a_raw_password(
    pg: Cluster, raw_db: str, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    hook, received = webhook
    missing = raw_db.replace("/raw_pw", "/no_such_db")
    result = run_cli(
        "--debug", "snapshot", missing, "--store", str(tmp_path / "s"), env={"DBSNAP_NOTIFY_URL": hook}
    )
    assert result.returncode == 1
    assert "does not exist" in result.stderr
    _clean(result.stdout + result.stderr)
    assert len(received) == 1
    _clean(json.dumps(received))


@pytest.mark.parametrize(
    "url",
    [
        # '%41' could be an escape or four characters of the password: no way to tell.
        "postgresql://app:pa%41/ss@127.0.0.1:5432/db",
        # The last '@' leaves no database; the first ends at a '/' inside the password.
        "postgresql://app:se/cret@127.0.0.1",
    ],
)
def test_an_unreadable_url_is_refused_showing_no_part_of_it(url: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="percent-encode the password") as info:
        PgTarget.parse(url)
    for part in ("pa%41", "se/cret", "cret", "/ss"):
        assert part not in str(info.value)
    result = run_cli("snapshot", "--store", str(tmp_path / "s"), env={"DBSNAP_DATABASE_URL": url})
    assert result.returncode == 2
    assert "percent-encode" in result.stderr
    for part in ("pa%41", "se/cret", "cret", "%41/ss"):
        assert part not in result.stderr


def test_two_readings_of_one_url_are_refused() -> None:
    url = "postgresql://app:pw@127.0.0.1:5432/db?application_name=x@127.0.0.2:5433/other"
    with pytest.raises(ConfigError, match="cannot be told apart"):
        PgTarget.parse(url)


def test_pgpassword_pgpassfile_and_pgservice_serve_the_dump_and_restore(
    pg: Cluster, raw_db: str, tmp_path: Path
) -> None:
    without = f"postgresql://{ROLE}@127.0.0.1:{pg.port}/raw_pw"
    store = tmp_path / "s"
    made = run_cli("snapshot", without, "--store", str(store), "--json", env={"PGPASSWORD": RAW})
    assert made.returncode == 0, made.stderr
    name = json.loads(made.stdout)["snapshot"]["name"]
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg.port}:*:{ROLE}:{RAW.replace(':', chr(92) + ':')}\n")
    passfile.chmod(0o600)
    env = {"PGPASSFILE": str(passfile)}
    assert run_cli("restore", name, without, "--yes", "--store", str(store), env=env).returncode == 0
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[rawdb]\nhost=127.0.0.1\nport={pg.port}\ndbname=raw_pw\nuser={ROLE}\n")
    env = {"PGSERVICEFILE": str(services), "PGSERVICE": "rawdb", "PGPASSFILE": str(passfile)}
    by_service = run_cli("snapshot", "postgresql://", "--store", str(store), "--json", env=env)
    assert by_service.returncode == 0, by_service.stderr
    assert json.loads(by_service.stdout)["snapshot"]["database"] == "raw_pw"
    verified = run_cli("verify", name, "--store", str(store), env=env)
    assert verified.returncode == 0, verified.stderr


@pytest.mark.parametrize(
    "arg",
    ["--file=/tmp/dbsnap-leak.dump", "-f/tmp/dbsnap-leak.dump", "--format=plain", "-Fp", "--form=d",
     "--data-only", "--section=data", "other_db", "--dbname=other", "-h127.0.0.1", "--help", "-j4"],
)  # fmt: skip
def test_pg_dump_arguments_that_would_make_an_unrestorable_snapshot_are_refused(
    pg: Cluster, raw_db: str, tmp_path: Path, arg: str
) -> None:
    leak = Path("/tmp/dbsnap-leak.dump")
    leak.unlink(missing_ok=True)
    store = tmp_path / "s"
    result = run_cli(
        "snapshot", "--store", str(store), f"--pg-dump-arg={arg}", env={"DBSNAP_DATABASE_URL": raw_db}
    )
    assert result.returncode == 2, result.stderr
    assert "--pg-dump-arg" in result.stderr and arg in result.stderr
    assert not leak.exists() and not store.exists()


def test_harmless_pg_dump_arguments_still_work(pg: Cluster, raw_db: str, tmp_path: Path) -> None:
    store = tmp_path / "s"
    args = ["--pg-dump-arg=--no-comments", "--pg-dump-arg=--exclude-table", "--pg-dump-arg=nothing_*"]
    result = run_cli("snapshot", "--store", str(store), *args, "--json", env={"DBSNAP_DATABASE_URL": raw_db})
    assert result.returncode == 0, result.stderr
    name = json.loads(result.stdout)["snapshot"]["name"]
    before = pg_dump_text(pg, "raw_pw")
    restored = run_cli("restore", name, "--yes", "--store", str(store), env={"DBSNAP_DATABASE_URL": raw_db})
    assert restored.returncode == 0, restored.stderr
    assert pg_dump_text(pg, "raw_pw") == before


def test_error_categories(pg: Cluster, raw_db: str, tmp_path: Path) -> None:
    store = str(tmp_path / "s")
    no_role = f"postgresql://nobody_here:x@127.0.0.1:{pg.port}/raw_pw"
    result = run_cli("snapshot", no_role, "--store", store)
    assert result.returncode == 1 and "authentication failed" in result.stderr, result.stderr
    assert "cannot reach" not in result.stderr
    wrong = raw_db.replace(RAW, "not-it")
    result = run_cli("snapshot", "--store", store, env={"DBSNAP_DATABASE_URL": wrong})
    assert "authentication failed" in result.stderr and "cannot reach" not in result.stderr
    missing = raw_db.replace("/raw_pw", "/nowhere")
    result = run_cli("snapshot", "--store", store, env={"DBSNAP_DATABASE_URL": missing})
    assert "does not exist" in result.stderr and "--create" not in result.stderr
    snap = dbsnap.snapshot(raw_db, store)
    result = run_cli("restore", snap.name, "--yes", "--store", store, env={"DBSNAP_DATABASE_URL": missing})
    assert "does not exist" in result.stderr and "--create" in result.stderr
    assert not os.path.exists(tmp_path / "nowhere")
