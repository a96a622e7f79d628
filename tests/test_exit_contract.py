"""The operator's contract: every command × outcome gives its exit code and one JSON document valid
against its schema in docs/schemas (with an "error" member exactly when the exit code is not 0).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import dbsnap
from dbsnap.plugins import create_plugins
from dbsnap.resolve import open_store
from dbsnap.stores.lock import store_lock
from tests.conftest import cli_env, make_db

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"
_LOADED = {p.stem: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json")}
_REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in _LOADED.values()
)


def validate(command: str, document: object) -> None:
    """Validate a --json document against its command's schema."""
    Draft202012Validator(_LOADED[command], registry=_REGISTRY).validate(document)


class World:
    """A SQLite database, a store holding one snapshot of it, and the paths a scenario needs."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.db = tmp / "app.db"
        make_db(self.db)
        self.url = f"sqlite:///{self.db}"
        self.store = tmp / "store"
        self.snap = dbsnap.snapshot(self.url, str(self.store))
        self.missing = str(tmp / "no-such-folder" / "store")
        self.env = {"DBSNAP_LOCK_WAIT": "0", "DBSNAP_CACHE_DIR": str(tmp / "cache")}

    def damaged(self, *args: str) -> list[str]:
        """Flip a byte of the snapshot's payload; return `args`."""
        payload = self.store / self.snap.name
        data = bytearray(payload.read_bytes())
        data[len(data) // 2] ^= 1
        payload.write_bytes(bytes(data))
        return list(args)

    @property
    def name(self) -> str:
        return self.snap.name


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def held(world: World) -> Iterator[None]:
    """Another run holds the lock of the database 'app' in the store."""
    with store_lock(open_store(str(world.store), create_plugins()).medium, "app", wait=0):
        yield


Case = tuple[str, str, Callable[[World], list[str]], int]
W = World
CASES: list[Case] = [
    ("snapshot", "success", lambda w: [w.url, "--store", str(w.store)], 0),
    ("snapshot", "missing store", lambda w: [w.url, "--store", w.missing], 10),
    ("snapshot", "lock held", lambda w: [w.url, "--store", str(w.store)], 11),
    ("snapshot", "partial", lambda w: [w.url, "--store", str(w.store), "--store", w.missing], 4),
    ("snapshot", "bad input", lambda w: ["oracle://db", "--store", str(w.store)], 2),
    ("list", "success", lambda w: ["--store", str(w.store)], 0),
    ("list", "missing store", lambda w: ["--store", w.missing], 10),
    ("list", "partial", lambda w: ["--store", str(w.store), "--store", w.missing], 4),
    ("list", "bad input", lambda w: ["--store", str(w.store), "--no-such-option"], 2),
    ("restore", "success", lambda w: [w.name, w.url, "--store", str(w.store), "--yes"], 0),
    ("restore", "missing store", lambda w: [w.name, w.url, "--store", w.missing, "--yes"], 10),
    ("restore", "bad input", lambda w: ["--store", str(w.store), "--yes"], 2),
    ("verify", "success", lambda w: [w.name, "--store", str(w.store)], 0),
    ("verify", "missing store", lambda w: ["--all", "--store", w.missing], 10),
    ("verify", "partial", lambda w: ["--all", "--store", str(w.store), "--store", w.missing], 4),
    ("verify", "failed", lambda w: w.damaged(w.name, "--store", str(w.store)), 3),
    ("verify", "bad input", lambda w: ["--store", str(w.store)], 2),
    ("prune", "success", lambda w: ["--store", str(w.store), "--keep-last", "1"], 0),
    ("prune", "missing store", lambda w: ["--store", w.missing, "--keep-last", "1"], 10),
    ("prune", "lock held", lambda w: ["--store", str(w.store), "--keep-last", "1"], 11),
    ("prune", "partial", lambda w: ["--store", str(w.store), "--store", w.missing, "--keep-last", "1"], 4),
    ("prune", "bad input", lambda w: ["--store", str(w.store)], 2),
    ("check", "success", lambda w: ["--store", str(w.store), "--max-age", "1h"], 0),
    ("check", "missing store", lambda w: ["--store", w.missing], 10),
    ("check", "partial", lambda w: ["--store", str(w.store), "--store", w.missing], 4),
    ("check", "stale", lambda w: ["--store", str(w.store), "--max-verify-age", "1h"], 12),
    ("check", "bad input", lambda w: ["--store", str(w.store), "--max-age", "26 hours"], 2),
    ("drill", "success", lambda w: [w.url, "--store", str(w.store)], 0),
    ("drill", "missing store", lambda w: [w.url, "--store", w.missing], 10),
    ("drill", "failed", lambda w: w.damaged(w.url, "--store", str(w.store)), 3),
    ("drill", "bad input", lambda w: [w.url, "--store", str(w.store), "--expect", "select 1", "about 1"], 2),
    ("adopt", "success", lambda w: [_original(w), "--database", w.url], 0),
    ("adopt", "bad input", lambda w: [_original(w)], 2),
    ("plugins", "success", lambda w: [], 0),
    ("completion", "success", lambda w: ["bash"], 0),
    ("completion", "bad input", lambda w: ["tcsh"], 2),
]


def _original(world: World) -> str:
    """A backup as the original system named it, made with sqlite3's .backup."""
    path = world.tmp / "legacy" / "backup_20250102_030000.sqlite3"
    path.parent.mkdir(exist_ok=True)
    with sqlite3.connect(world.db) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return str(path)


def run(command: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dbsnap", command, *args, "--json"],
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(("command", "outcome", "args", "code"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_command_and_outcome_has_its_exit_code_and_one_valid_document(
    world: World,
    request: pytest.FixtureRequest,
    command: str,
    outcome: str,
    args: Callable[[World], list[str]],
    code: int,
) -> None:
    if outcome == "lock held":
        request.getfixturevalue("held")
    result = run(command, args(world), world.env)
    assert result.returncode == code, result.stderr
    document = json.loads(result.stdout)  # exactly one JSON document, whatever happened
    validate(command, document)
    if code == 0:
        assert "error" not in document
    else:
        assert document["error"]["exit_code"] == code
        assert document["error"]["message"]


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_snapshot_exits_130_or_143_with_its_document(
    world: World, held: None, sig: signal.Signals, code: int
) -> None:
    # It would wait ten minutes for the lock: the signal must end the wait, not the wait the run.
    env = cli_env({**world.env, "DBSNAP_LOCK_WAIT": "600"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsnap", "snapshot", world.url, "--store", str(world.store), "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(2.0)  # waiting for the held lock
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    document = json.loads(out)
    validate("snapshot", document)
    assert document["error"]["exit_code"] == code


def test_an_interrupted_restore_exits_130_and_changes_nothing(world: World) -> None:
    conn = sqlite3.connect(world.db, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")  # the restore waits for this lock
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dbsnap", "restore", world.name, world.url, "--store", str(world.store),
             "--yes", "--json"],
            env=cli_env(world.env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(2.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    assert proc.returncode == 130, err
    validate("restore", json.loads(out))


def test_a_closed_pipe_ends_quietly(world: World) -> None:
    for i in range(120):  # a document larger than a pipe's buffer, so the write meets the closed end
        dbsnap.snapshot(world.url, str(world.store), name=f"app-{i:03d}.sqlite.zst")
    listing = f"{sys.executable} -m dbsnap list --json --store {world.store}"
    shell = f"{listing} | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}"
    result = subprocess.run(
        ["bash", "-c", shell], env=cli_env({}), capture_output=True, text=True, timeout=60
    )
    assert result.stderr == ""
    assert result.stdout.strip() == "141"


def test_the_exit_code_table_in_the_docs_is_the_code() -> None:
    from dbsnap.cli import exits

    page = (SCHEMAS.parent / "operations.md").read_text()
    for code, meaning in exits.MEANINGS.items():
        assert f"| {code} | {meaning} |" in page, (code, meaning)
