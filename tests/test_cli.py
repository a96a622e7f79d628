"""The command line, run as a subprocess the way operators and cron run it."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from dbsnap.faults import POINTS
from dbsnap.plugins import create_plugins
from tests.conftest import RECORD, leftovers, run_cli, table_dump


def test_cli_round_trip(db: Path, store: Path) -> None:
    before = table_dump(db)
    made = run_cli("snapshot", f"sqlite:///{db}", "--store", str(store), "--json")
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    name = result["snapshot"]["name"]
    assert result["stores"][0]["ok"] is True
    listed = run_cli("list", "--store", str(store), "--json")
    assert [m["name"] for m in json.loads(listed.stdout)["snapshots"]] == [name]
    table = run_cli("list", "--store", str(store))
    assert name in table.stdout and "DATABASE" in table.stdout
    assert run_cli("verify", name, "--store", str(store)).returncode == 0
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM items")
    conn.commit()
    conn.close()
    restored = run_cli("restore", "--latest", f"sqlite:///{db}", "--store", str(store), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert table_dump(db) == before


def test_relative_sqlite_url_and_default_store(db: Path) -> None:
    made = run_cli("snapshot", "sqlite:///app.db", cwd=db.parent)
    assert made.returncode == 0, made.stderr
    assert len(list((db.parent / "backups").glob("app-*.sqlite.zst"))) == 1


def test_environment_configures_database_and_store(db: Path, tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{db}", "BACKUP_DIR": str(tmp_path / "legacy")}
    assert run_cli("snapshot", env=env).returncode == 0
    assert len(list((tmp_path / "legacy").glob("*.manifest.json"))) == 1
    env["DBSNAP_STORE"] = str(tmp_path / "modern")
    assert run_cli("snapshot", env=env).returncode == 0
    assert len(list((tmp_path / "modern").glob("*.manifest.json"))) == 1


def test_flipped_byte_makes_verify_exit_3_and_restore_fail(db: Path, store: Path) -> None:
    made = run_cli("snapshot", f"sqlite:///{db}", "--store", str(store), "--name", "x.sqlite.zst")
    assert made.returncode == 0, made.stderr
    payload = store / "x.sqlite.zst"
    data = bytearray(payload.read_bytes())
    data[-5] ^= 0xFF
    payload.write_bytes(bytes(data))
    verify = run_cli("verify", "--all", "--store", str(store))
    assert verify.returncode == 3
    assert "BAD" in verify.stdout
    before = table_dump(db)
    restore = run_cli("restore", "x.sqlite.zst", f"sqlite:///{db}", "--store", str(store), "--yes")
    assert restore.returncode == 3
    assert restore.stderr.startswith("dbsnap: error: ") and restore.stderr.count("\n") == 1
    assert table_dump(db) == before


def test_restore_without_terminal_or_yes_refuses(db: Path, store: Path) -> None:
    assert run_cli("snapshot", f"sqlite:///{db}", "--store", str(store)).returncode == 0
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM items")
    conn.commit()
    conn.close()
    before = table_dump(db)
    refused = run_cli("restore", "--latest", f"sqlite:///{db}", "--store", str(store))
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    assert table_dump(db) == before


@pytest.mark.parametrize("name", ["../x", "../../etc/cron.d/x", "/tmp/abs", ".hidden", "a/b"])
def test_hostile_names_are_refused_and_nothing_is_written(db: Path, tmp_path: Path, name: str) -> None:
    box = tmp_path / "box"
    box.mkdir()
    store = box / "store"
    before = sorted(p for p in tmp_path.rglob("*"))
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", str(store), "--name", name)
    assert result.returncode == 2
    assert "name" in result.stderr and result.stderr.count("\n") == 1
    assert sorted(p for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("point", [p for p in POINTS if p != "manifest-deleted"])
def test_a_kill_during_commit_leaves_nothing_listed_and_is_swept(
    db: Path, store: Path, point: str, tmp_path: Path
) -> None:
    env = {"DBSNAP_TEST_KILL_AT": point, "DBSNAP_TMPDIR": str(tmp_path)}  # a killed run's scratch stays here
    killed = run_cli("snapshot", f"sqlite:///{db}", "--store", str(store), env=env)
    assert killed.returncode == -9
    listed = json.loads(run_cli("list", "--store", str(store), "--json").stdout)["snapshots"]
    if point == "manifest-renamed":
        # The manifest was committed: the snapshot exists and must be whole.
        assert len(listed) == 1
        assert run_cli("verify", "--all", "--store", str(store)).returncode == 0
    else:
        assert listed == []
    swept = run_cli("prune", "--store", str(store), "--keep-last", "5", "--stale-after", "0h")
    assert swept.returncode == 0, swept.stderr
    # Only committed check records are hidden (the verify above wrote one); no temporary is left.
    assert leftovers(store) == []
    left = sorted(p.name for p in store.iterdir() if not RECORD.fullmatch(p.name))
    assert len(left) == 2 * len(listed), left


def test_a_kill_during_prune_is_finished_by_the_next_prune(db: Path, store: Path) -> None:
    for _ in range(3):
        assert run_cli("snapshot", f"sqlite:///{db}", "--store", str(store)).returncode == 0
    killed = run_cli(
        "prune", "--store", str(store), "--keep-last", "1", env={"DBSNAP_TEST_KILL_AT": "manifest-deleted"}
    )
    assert killed.returncode == -9
    assert len(json.loads(run_cli("list", "--store", str(store), "--json").stdout)["snapshots"]) == 2
    again = run_cli("prune", "--store", str(store), "--keep-last", "1", "--stale-after", "0h")
    assert again.returncode == 0, again.stderr
    assert len(list(store.iterdir())) == 2


def test_usage_errors_exit_2_with_one_line(db: Path, store: Path) -> None:
    for args in (
        ["snapshot", "oracle://x/y", "--store", str(store)],
        ["snapshot", str(db), "--store", str(store)],
        ["prune", "--store", str(store), "--keep-last", "-3"],
        ["verify", "--store", str(store)],
    ):
        result = run_cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.strip().count("\n") <= 1 or result.stderr.startswith("usage:"), result.stderr
    unknown = run_cli("snapshot", "oracle://x/y", "--store", str(store))
    installed = ", ".join(sorted(create_plugins().drivers()))
    assert "sqlite" in installed and f"(installed drivers: {installed})" in unknown.stderr


def test_unknown_snapshot_is_exit_1_and_names_the_fix(store: Path) -> None:
    store.mkdir(exist_ok=True)  # a store that exists but lacks the snapshot (a missing store is exit 10)
    result = run_cli("verify", "nope.sqlite.zst", "--store", str(store))
    assert result.returncode == 1
    assert "dbsnap list" in result.stderr


def test_plugins_lists_builtins_with_their_distribution() -> None:
    result = run_cli("plugins", "--json")
    rows = json.loads(result.stdout)["plugins"]
    found = {(r["kind"], r["name"]): r["distribution"] for r in rows}
    assert found[("driver", "sqlite")] == "dbsnap"
    assert found[("store", "file")] == "dbsnap"
    assert found[("codec", "zstd")] == "dbsnap"


def test_debug_shows_a_traceback(store: Path) -> None:
    result = run_cli("--debug", "verify", "nope.sqlite.zst", "--store", str(store))
    assert "Traceback" in result.stderr


def test_prune_keeps_last_n(db: Path, store: Path) -> None:
    for _ in range(4):
        assert run_cli("snapshot", f"sqlite:///{db}", "--store", str(store)).returncode == 0
    names = [
        m["name"] for m in json.loads(run_cli("list", "--store", str(store), "--json").stdout)["snapshots"]
    ]
    pruned = run_cli("prune", "--store", str(store), "--keep-last", "2", "--json")
    assert pruned.returncode == 0, pruned.stderr
    out = json.loads(pruned.stdout)
    assert [k["name"] for k in out["keep"]] == names[:2]
    assert [r["name"] for r in out["remove"]] == names[2:]
    assert sorted(p.name for p in store.iterdir()) == sorted(
        [*names[:2], *(n + ".manifest.json" for n in names[:2])]
    )
    assert os.stat(store).st_mode & 0o777 == 0o700
