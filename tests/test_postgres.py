"""The PostgreSQL driver against a real throwaway cluster: round trips, failures, secrets, versions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dbsnap
from dbsnap.exceptions import ConfigError, DriverError, DriverMismatchError, VerificationError
from dbsnap.manifest import Snapshot
from tests.conftest import make_db, run_cli
from tests.pgdata import build, fingerprint
from tests.pgserver import PASSWORD, Cluster


@pytest.fixture(scope="module")
def source(pg: Cluster) -> str:
    """A database with several schemas, sequences, a view, large objects and 300,000 rows."""
    url = pg.createdb("shop")
    with pg.connect("shop") as conn:
        build(conn)
    return url


def test_round_trip_restores_every_object(pg: Cluster, source: str, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    with pg.connect("shop") as conn:
        before = fingerprint(conn)
    snap = dbsnap.snapshot(source, store)
    assert snap.name.startswith("shop-") and snap.name.endswith(".pgdump.zst")
    assert snap.driver == "postgresql" and snap.codec == "zstd"
    assert snap.driver_info["format"] == "custom"
    assert snap.driver_info["server_version"].startswith(str(pg.bindir).split("/")[4])
    assert "pg_dump (PostgreSQL)" in snap.driver_info["pg_dump_version"]
    target = pg.createdb("shop_copy")
    dbsnap.restore(snap.name, target, store)
    with pg.connect("shop_copy") as conn:
        assert fingerprint(conn) == before
        conn.execute("UPDATE public.customers SET name = 'changed' WHERE id < 100")
        conn.execute("DELETE FROM public.events WHERE id % 7 = 0")
        conn.execute("DROP VIEW public.customer_totals")
        conn.execute('DROP TABLE "Ünïcode schema"."Tâble with spaces"')
        conn.execute("SELECT nextval('billing.invoice_no') FROM generate_series(1, 50)")
        conn.execute("SELECT lo_unlink(attachment) FROM billing.invoices WHERE id = 1499")
        conn.execute("CREATE TABLE public.extra (x int)")
        assert fingerprint(conn) != before
    dbsnap.restore(snap.name, target, store)
    with pg.connect("shop_copy") as conn:
        after = fingerprint(conn)
    # Exactly the snapshot: the table only the target had is gone too.
    assert after == before


def test_payload_is_a_plain_pg_restore_archive_with_codec_none(source: str, tmp_path: Path) -> None:
    store = tmp_path / "store"
    snap = dbsnap.snapshot(source, str(store), codec="none")
    assert snap.name.endswith(".pgdump") and snap.driver_info["compress"] is None
    listing = subprocess.run(["pg_restore", "--list", str(store / snap.name)], capture_output=True, text=True)
    assert listing.returncode == 0
    assert "TABLE public events" in listing.stdout


def test_a_failing_restore_leaves_the_target_unchanged(pg: Cluster, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    # A snapshot whose objects belong to a role the target's server no longer has: the restore
    # fails late, after the target's objects were dropped and most of the snapshot's recreated.
    with pg.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS dbsnap_gone_owner")
        conn.execute("CREATE ROLE dbsnap_gone_owner")
    source = pg.createdb("shop_owned")
    with pg.connect("shop_owned") as conn:
        build(conn, rows=2000)
        conn.execute("ALTER TABLE public.events OWNER TO dbsnap_gone_owner")
    snap = dbsnap.snapshot(source, store)
    with pg.connect() as conn:
        conn.execute("DROP DATABASE shop_owned WITH (FORCE)")
        conn.execute("DROP ROLE dbsnap_gone_owner")
    target = pg.createdb("shop_guarded")
    with pg.connect("shop_guarded") as conn:
        build(conn, rows=1000)
        conn.execute("UPDATE public.events SET payload = 'local edit' WHERE id <= 10")
        conn.execute("CREATE VIEW public.local_report AS SELECT count(*) FROM public.events")
        before = fingerprint(conn)
    with pytest.raises(DriverError) as info:
        dbsnap.restore(snap.name, target, store)
    message = str(info.value)
    assert "dbsnap_gone_owner" in message and "nothing was changed" in message
    assert PASSWORD not in message
    with pg.connect("shop_guarded") as conn:
        assert fingerprint(conn) == before
    # --no-owner is the fix the error calls for, and then the restore applies.
    dbsnap.restore(snap.name, target, store, restore_options={"no_owner": True})
    with pg.connect("shop_guarded") as conn:
        assert conn.execute("SELECT count(*) FROM public.events").fetchone()[0] == 2000


def test_restore_create_makes_a_missing_database(pg: Cluster, source: str, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(source, store)
    with pg.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS fresh_copy WITH (FORCE)")
    dbsnap.restore(snap.name, pg.url("fresh_copy"), store, restore_options={"create": True})
    with pg.connect("fresh_copy") as conn:
        assert conn.execute("SELECT count(*) FROM public.events").fetchone()[0] == 300_000


@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_parallel_restore_from_a_local_file(
    pg: Cluster, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codec: str
) -> None:
    store = str(tmp_path / "store")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("DBSNAP_TMPDIR", str(scratch))
    snap = dbsnap.snapshot(source, store, codec=codec)
    target = pg.createdb(f"shop_parallel_{codec}")
    dbsnap.restore(snap.name, target, store, restore_options={"jobs": 2})
    with pg.connect("shop") as a, pg.connect(f"shop_parallel_{codec}") as b:
        assert fingerprint(a) == fingerprint(b)
    assert list(scratch.iterdir()) == []  # a zstd payload is decoded for --jobs, then removed


def test_compress_keeps_pg_dumps_own_compression(source: str, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(source, store, driver_options={"compress": 9})
    assert snap.codec == "none" and snap.driver_info["compress"] == 9
    with pytest.raises(ConfigError, match=r"--compress 9 is pg_dump's own compression.*--codec none"):
        dbsnap.snapshot(source, store, codec="zstd", driver_options={"compress": 9})
    assert [s.name for s in dbsnap.list_snapshots(store)] == [snap.name]


def test_password_never_on_a_command_line(pg: Cluster, source: str, tmp_path: Path) -> None:
    store = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsnap", "--debug", "snapshot", "--store", str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("DBSNAP_", "PG"))},
            "DBSNAP_DATABASE_URL": source,
        },
    )
    seen_pg_dump = False
    leaked: list[str] = []
    encoded = source.split(":", 2)[2].split("@")[0]
    while proc.poll() is None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode("utf-8", "replace")
            except OSError:
                continue
            if "pg_dump" in cmdline and "--format=custom" in cmdline:
                seen_pg_dump = True
            if PASSWORD in cmdline or encoded in cmdline:
                leaked.append(cmdline)
        time.sleep(0.002)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert seen_pg_dump, "the snapshot finished before pg_dump could be observed"
    assert leaked == []
    for text in (out, err, *(p.read_text() for p in store.glob("*.manifest.json"))):
        assert PASSWORD not in text and encoded not in text


def test_errors_never_show_the_password(pg: Cluster, tmp_path: Path) -> None:
    wrong = pg.url("shop", password="not-the-" + PASSWORD)
    result = run_cli("--debug", "snapshot", wrong, "--store", str(tmp_path / "s"))
    assert result.returncode == 1
    assert "authentication failed" in result.stderr
    assert PASSWORD not in result.stderr and "not-the-" not in result.stderr


def test_unreachable_and_missing_databases_are_one_line_errors(pg: Cluster, tmp_path: Path) -> None:
    from tests.pgserver import free_port

    down = f"postgresql://{pg.url('x').split('//')[1].split('@')[0]}@127.0.0.1:{free_port()}/x"
    result = run_cli("snapshot", down, "--store", str(tmp_path / "s"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("dbsnap: error:")]
    assert len(errors) == 1
    assert "cannot reach the PostgreSQL server" in errors[0]
    missing = run_cli("snapshot", pg.url("no_such_db"), "--store", str(tmp_path / "s"))
    assert "does not exist" in missing.stderr
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").iterdir())


def test_an_old_pg_dump_is_refused_before_any_work(pg: Cluster, source: str, tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "pg_dump"
    shim.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    shim.chmod(0o755)
    store = tmp_path / "s"
    result = run_cli("snapshot", source, "--store", str(store), env={"PATH": f"{shims}:{os.environ['PATH']}"})
    assert result.returncode == 1
    assert "pg_dump 9.6" in result.stderr and "PostgreSQL 1" in result.stderr
    assert not store.exists() or not list(store.iterdir())


def test_a_failed_pg_dump_leaves_nothing_and_reports_its_words(source: str, tmp_path: Path) -> None:
    store = tmp_path / "s"
    result = run_cli(
        "snapshot", source, "--store", str(store), "--table", "no_such_table", "--pg-dump-arg=--strict-names"
    )
    assert result.returncode == 1
    assert "no matching tables" in result.stderr
    listed = run_cli("list", "--store", str(store), "--json")
    assert listed.returncode == 0
    assert json.loads(listed.stdout)["snapshots"] == []
    assert not list(store.iterdir())


def test_unix_socket_urls(pg: Cluster, source: str, tmp_path: Path) -> None:
    url = f"postgresql://postgres@/shop?host={pg.socket_dir}&port={pg.port}"
    snap = dbsnap.snapshot(url, str(tmp_path / "s"))
    assert snap.database == "shop"


def test_schema_selection(source: str, tmp_path: Path) -> None:
    store = tmp_path / "s"
    snap = dbsnap.snapshot(source, str(store), codec="none", driver_options={"schemas": ["billing"]})
    listing = subprocess.run(["pg_restore", "--list", str(store / snap.name)], capture_output=True, text=True)
    assert "TABLE billing invoices" in listing.stdout
    assert "TABLE public events" not in listing.stdout


def test_a_sqlite_snapshot_is_refused_by_postgres(source: str, tmp_path: Path) -> None:
    db = make_db(tmp_path / "app.db")
    store = str(tmp_path / "s")
    snap = dbsnap.snapshot(f"sqlite:///{db}", store)
    with pytest.raises(DriverMismatchError, match="sqlite driver"):
        dbsnap.restore(snap.name, source, store)


def _scratch(pg: Cluster) -> set[str]:
    return {d for d in pg.databases() if d.startswith("dbsnap_verify_")}


def test_verify_restore_good_and_bad(pg: Cluster, source: str, tmp_path: Path) -> None:
    store = tmp_path / "s"
    snap = dbsnap.snapshot(source, str(store))
    good = run_cli("verify", snap.name, source, "--restore", "--store", str(store), "--json")
    assert good.returncode == 0, good.stdout + good.stderr
    checks = json.loads(good.stdout)["results"][0]["checks"]
    assert checks["restore"]["tables"]["public.events"] == 300_000
    assert checks["restore"]["tables"]["Ünïcode schema.Tâble with spaces"] == 3
    assert _scratch(pg) == set()
    payload = store / snap.name
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0x10
    payload.write_bytes(bytes(data))
    bad = run_cli("verify", snap.name, source, "--restore", "--store", str(store))
    assert bad.returncode == 3
    assert _scratch(pg) == set()


def _forge(store: Path, name: str, data: bytes) -> None:
    """Replace a payload and make its manifest match, as an attacker or a buggy tool might."""
    import hashlib

    (store / name).write_bytes(data)
    manifest = store / f"{name}.manifest.json"
    record = json.loads(manifest.read_text())
    record.pop("checksum")
    record.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    manifest.write_text(Snapshot.from_manifest(record).to_json())


def test_archives_that_hash_right_but_are_broken_fail_verify(
    pg: Cluster, source: str, tmp_path: Path
) -> None:
    store = tmp_path / "s"
    snap = dbsnap.snapshot(source, str(store))
    data = (store / snap.name).read_bytes()
    _forge(store, snap.name, b"NOTPGDMP" + data[8:])
    plain = run_cli("verify", snap.name, "--store", str(store))
    assert plain.returncode == 3, plain.stdout + plain.stderr
    assert "not a readable pg_dump archive" in plain.stdout
    # A truncated archive still has its table of contents: only a restore finds it out.
    _forge(store, snap.name, data[: len(data) // 2])
    assert run_cli("verify", snap.name, "--store", str(store)).returncode == 0
    deep = run_cli("verify", snap.name, source, "--restore", "--store", str(store))
    assert deep.returncode == 3
    assert _scratch(pg) == set()
    with pytest.raises(VerificationError):
        dbsnap.verify(snap.name, str(store), restore_into=source)
    assert _scratch(pg) == set()


def test_a_url_without_a_database_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("snapshot", "postgresql://user@localhost", "--store", str(tmp_path))
    assert result.returncode == 2
    assert "names no database" in result.stderr


def test_a_password_on_the_command_line_is_warned_about(source: str, tmp_path: Path) -> None:
    result = run_cli("snapshot", source, "--store", str(tmp_path / "s"))
    assert result.returncode == 0
    assert "DBSNAP_DATABASE_URL" in result.stderr
    assert PASSWORD not in result.stderr


def test_a_missing_pg_dump_names_the_package(source: str, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_cli(
        "snapshot", "--store", str(tmp_path / "s"), env={"PATH": str(empty), "DBSNAP_DATABASE_URL": source}
    )
    assert result.returncode == 1
    assert "pg_dump is not installed" in result.stderr and "postgresql-client" in result.stderr
    assert not (tmp_path / "s").exists() or not list((tmp_path / "s").iterdir())


def test_zstd_codec_round_trip(pg: Cluster, source: str, tmp_path: Path) -> None:
    store = tmp_path / "s"
    snap = dbsnap.snapshot(source, str(store), codec="zstd")
    assert snap.codec == "zstd" and snap.name.endswith(".pgdump.zst")
    assert snap.driver_info["compress"] == 0
    listing = subprocess.run(
        f"zstd -q -d -c {store / snap.name} | pg_restore --list", shell=True, capture_output=True, text=True
    )
    assert listing.returncode == 0 and "TABLE public events" in listing.stdout
    checked = dbsnap.verify(snap.name, str(store), restore_into=source)
    assert checked.checks["restore"]["tables"]["public.events"] == 300_000
    target = pg.createdb("shop_zstd")
    dbsnap.restore(snap.name, target, str(store))
    with pg.connect("shop") as a, pg.connect("shop_zstd") as b:
        assert fingerprint(a) == fingerprint(b)
