"""Faults injected for real: SIGKILL at random moments and at every commit step, a full disk,
corrupted bytes, concurrent runs, hostile names. Each test proves one promise of docs/guarantees.md."""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dbsnap
from dbsnap.exceptions import DbsnapError, ManifestError, VerificationError
from dbsnap.faults import POINTS
from tests.conftest import RECORD, cli_env, leftovers, make_blob_db, make_db, run_cli, table_dump
from tests.pgserver import Cluster
from tests.sshserver import SshServer

KILL_POINTS = [p for p in POINTS if p != "manifest-deleted"]


def _verify_new(store: str, seen: set[str]) -> None:
    """Every snapshot that lists must verify; check the ones not checked before."""
    for snap in dbsnap.list_snapshots(store):
        if snap.name not in seen:
            dbsnap.verify(snap.name, store)
            seen.add(snap.name)


def _kill_runs(stores: list[str], env: dict[str, str], random_kills: int, seed: int) -> int:
    """Snapshot DBSNAP_DATABASE_URL to `stores` again and again, SIGKILLing each run.

    Returns how many runs were killed before they finished.
    """
    rng = random.Random(seed)
    argv = [sys.executable, "-m", "dbsnap", "snapshot", *(a for s in stores for a in ("--store", s))]
    full = {**os.environ, **env}
    started = time.perf_counter()
    subprocess.run(argv, env=full, check=True, capture_output=True)
    duration = time.perf_counter() - started
    seen: set[str] = set()
    killed = 0
    for _ in range(random_kills):
        proc = subprocess.Popen(argv, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, duration * 1.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait()
        for store in stores:
            _verify_new(store, seen)
    for point in KILL_POINTS:
        result = subprocess.run(argv, env={**full, "DBSNAP_TEST_KILL_AT": point}, capture_output=True)
        assert result.returncode == -9, (point, result.stderr)
        for store in stores:
            _verify_new(store, seen)
    return killed


def _only_complete_snapshots(folder: Path) -> None:
    # Verify's check records are committed objects like manifests; nothing else hidden may be left.
    assert leftovers(folder) == []
    names = sorted(p.name for p in folder.iterdir() if not RECORD.fullmatch(p.name))
    payloads = [n for n in names if not n.endswith(".manifest.json")]
    assert sorted(f"{n}.manifest.json" for n in payloads) == sorted(
        n for n in names if n.endswith(".manifest.json")
    )


def _scratch_env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "scratch"
    folder.mkdir()
    return {"DBSNAP_TMPDIR": str(folder)}


def _age_scratch_files(env: dict[str, str]) -> list[str]:
    """Make the scratch files killed runs left look a minute old (the sweep's grace); return them."""
    left = sorted(p.name for p in Path(env["DBSNAP_TMPDIR"]).iterdir())
    old = time.time() - 120
    for name in left:
        os.utime(Path(env["DBSNAP_TMPDIR"]) / name, (old, old))
    return left


def _finish_and_sweep(database: str, stores: list[str], env: dict[str, str]) -> None:
    left = _age_scratch_files(env)
    assert left, (
        "no killed run left a scratch file (the scratch-locked kill should), so the sweep is not tested"
    )
    args = [a for s in stores for a in ("--store", s)]
    final = run_cli("snapshot", database, *args, env=env)
    assert final.returncode == 0, final.stderr
    pruned = run_cli("prune", *args, "--keep-last", "unlimited", "--stale-after", "0h", env=env)
    assert pruned.returncode == 0, pruned.stderr
    for store in stores:
        verified = run_cli("verify", "--all", "--store", store, env=env)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert list(Path(env["DBSNAP_TMPDIR"]).iterdir()) == [], f"scratch files left behind (there were {left})"


@pytest.mark.slow
def test_sigkill_at_random_moments_and_every_step_sqlite(
    sshd: SshServer, tmp_path: Path, sshd_env: SshServer
) -> None:
    db = make_db(tmp_path / "app.db", 20_000)
    local = tmp_path / "local"
    stores = [str(local), sshd.url("kill-sqlite")]
    env = {
        **sshd.env(),
        **_scratch_env(tmp_path),
        "DBSNAP_LOCK_WAIT": "0",
        "DBSNAP_DATABASE_URL": f"sqlite:///{db}",
    }
    killed = _kill_runs(stores, env, random_kills=30, seed=7)
    assert killed >= 10, "too few runs were killed mid-way to prove anything"
    _finish_and_sweep(f"sqlite:///{db}", stores, env)
    _only_complete_snapshots(local)
    _only_complete_snapshots(sshd.remote / "kill-sqlite")


@pytest.mark.slow
def test_sigkill_at_random_moments_and_every_step_postgres(
    sshd: SshServer, pg: Cluster, tmp_path: Path, sshd_env: SshServer
) -> None:
    url = pg.createdb("killme")
    with pg.connect("killme") as conn:
        conn.execute("CREATE TABLE t AS SELECT g, md5(g::text) AS h FROM generate_series(1, 200000) g")
    local = tmp_path / "local"
    stores = [str(local), sshd.url("kill-pg")]
    env = {**sshd.env(), **_scratch_env(tmp_path), "DBSNAP_DATABASE_URL": url, "DBSNAP_LOCK_WAIT": "0"}
    killed = _kill_runs(stores, env, random_kills=25, seed=11)
    assert killed >= 10
    _finish_and_sweep(url, stores, {k: v for k, v in env.items() if k != "DBSNAP_DATABASE_URL"})
    _only_complete_snapshots(local)
    _only_complete_snapshots(sshd.remote / "kill-pg")
    restored = pg.createdb("killme_restored")
    newest = dbsnap.list_snapshots(str(local))[0]
    dbsnap.restore(newest.name, restored, str(local))
    with pg.connect("killme_restored") as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 200000


def test_a_full_disk_is_named_and_leaves_nothing(tmpfs: Path, tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "big.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE blobs (data BLOB)")
    conn.executemany("INSERT INTO blobs VALUES (?)", ((os.urandom(100_000),) for _ in range(30)))
    conn.commit()
    conn.close()
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    store = tmpfs / "backups"
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", str(store))
    assert result.returncode == 1
    assert "is full" in result.stderr and result.stderr.count("\n") == 1
    assert dbsnap.list_snapshots(str(store)) == []
    assert [p.name for p in store.iterdir()] == []
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store with one good SQLite snapshot, to be copied and damaged."""
    root = tmp_path_factory.mktemp("pristine")
    db = make_db(root / "app.db", 300)
    snap = dbsnap.snapshot(f"sqlite:///{db}", str(root / "store"))
    return root, snap.name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.sampled_from(["payload", "manifest"]),
    where=st.floats(0, 1, exclude_max=True),
    mask=st.integers(1, 255),
    truncate=st.booleans(),
)
def test_any_flipped_or_truncated_byte_is_detected(
    pristine: tuple[Path, str], tmp_path: Path, target: str, where: float, mask: int, truncate: bool
) -> None:
    root, name = pristine
    work = Path(os.path.join(tmp_path, f"case-{os.urandom(4).hex()}"))
    shutil.copytree(root, work)
    store = work / "store"
    path = store / (name if target == "payload" else f"{name}.manifest.json")
    data = bytearray(path.read_bytes())
    index = int(where * len(data))
    if truncate:
        del data[index:]
    else:
        data[index] ^= mask
    path.write_bytes(bytes(data))
    with pytest.raises((VerificationError, ManifestError)):
        dbsnap.verify(name, str(store))
    db = work / "app.db"
    before = db.read_bytes()
    with pytest.raises((VerificationError, ManifestError)):
        dbsnap.restore(name, f"sqlite:///{db}", str(store))
    assert db.read_bytes() == before


def test_concurrent_snapshots_and_prunes_never_interleave(tmp_path: Path) -> None:
    db = make_db(tmp_path / "app.db", 5000)
    store = tmp_path / "store"
    script = (
        "import sys, dbsnap\n"
        "for i in range(4):\n"
        "    dbsnap.snapshot(sys.argv[1], sys.argv[2])\n"
        "    dbsnap.prune(sys.argv[2], dbsnap.Policy(keep_last=3))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, f"sqlite:///{db}", str(store)], stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    snaps = dbsnap.list_snapshots(str(store))
    assert len(snaps) == 3
    for snap in snaps:
        dbsnap.verify(snap.name, str(store))
    assert leftovers(store) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(max_size=40) | st.sampled_from(["../x", "..", "/etc/x", "a/../../b", ".x", "x\x00y"]),
    label=st.text(max_size=40) | st.sampled_from(["../../etc", "/", ".."]),
)
def test_hostile_names_and_labels_never_write_outside_the_store(
    tmp_path: Path, name: str, label: str
) -> None:
    box = tmp_path / f"box-{os.urandom(4).hex()}"
    box.mkdir()
    db = make_db(box / "app.db", 5)
    before = {p for p in tmp_path.rglob("*") if not str(p).startswith(str(box / "store"))}
    with contextlib.suppress(DbsnapError):
        dbsnap.snapshot(f"sqlite:///{db}", str(box / "store"), name=name or None, label=label or None)
    after = {p for p in tmp_path.rglob("*") if not str(p).startswith(str(box / "store"))}
    assert after == before
    assert table_dump(db)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.text(max_size=60) | st.builds(lambda s: "sqlite:///" + s, st.text(max_size=30)))
def test_hostile_database_urls_write_nothing(tmp_path: Path, url: str) -> None:
    store = tmp_path / "store"
    try:
        dbsnap.snapshot(url, str(store))
    except (DbsnapError, OSError, ValueError):
        pass
    else:
        pytest.fail(f"{url!r} made a snapshot")
    assert not store.exists() or not [p for p in store.iterdir() if not p.name.startswith(".")]


def _digest(path: Path) -> str:
    return hashlib.sha256(repr(table_dump(path)).encode()).hexdigest()


def _wait_for_first_write(live: Path, before: os.stat_result, proc: subprocess.Popen[bytes]) -> None:
    """Return once the live file, its WAL or its rollback journal shows a write (or the restore ended)."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        now = live.stat()
        if (now.st_mtime_ns, now.st_size) != (before.st_mtime_ns, before.st_size):
            return
        for side in (Path(f"{live}-wal"), Path(f"{live}-journal")):
            with contextlib.suppress(FileNotFoundError):
                if side.stat().st_size > 0:
                    return
        time.sleep(0.0005)


def _sqlite_restore(store: Path, name: str, live: Path) -> subprocess.Popen[bytes]:
    env = cli_env()
    argv = [
        sys.executable,
        "-m",
        "dbsnap",
        "restore",
        name,
        f"sqlite:///{live}",
        "--store",
        str(store),
        "--yes",
    ]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_sigkill_during_a_sqlite_restore_leaves_the_old_or_the_new_database(
    tmp_path: Path, journal: str
) -> None:
    """Guarantee 3 under SIGKILL: a restore killed at any moment leaves the old or the new database."""
    source = make_blob_db(tmp_path / "source.db", 32)
    store = tmp_path / "store"
    snap = dbsnap.snapshot(f"sqlite:///{source}", str(store))
    new = _digest(source)
    old_copy = tmp_path / "old.db"
    shutil.copy(source, old_copy)
    with contextlib.closing(sqlite3.connect(old_copy)) as conn:
        conn.execute(f"PRAGMA journal_mode={journal}")
        conn.execute("DELETE FROM blobs WHERE id % 3 = 0")
        conn.execute("INSERT INTO blobs (data) VALUES (zeroblob(1000))")
        conn.commit()
    old = _digest(old_copy)
    assert old != new
    live = tmp_path / "live.db"

    def fresh_live() -> None:
        for leftover in (live, Path(f"{live}-wal"), Path(f"{live}-shm"), Path(f"{live}-journal")):
            leftover.unlink(missing_ok=True)
        shutil.copy(old_copy, live)

    fresh_live()
    started = time.monotonic()
    assert _sqlite_restore(store, snap.name, live).wait(timeout=120) == 0
    duration = time.monotonic() - started
    assert _digest(live) == new
    rng = random.Random(f"restore-{journal}")
    killed = 0
    for attempt in range(10):
        fresh_live()
        before = live.stat()
        proc = _sqlite_restore(store, snap.name, live)
        if attempt % 2:
            time.sleep(rng.uniform(0.1, duration))
        else:
            # The dangerous moment: just after the live database starts to change.
            _wait_for_first_write(live, before, proc)
            time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        killed += proc.wait(timeout=60) == -signal.SIGKILL
        with contextlib.closing(sqlite3.connect(live)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        state = _digest(live)
        assert state in (old, new), "a killed restore left a database that is neither the old nor the new one"
    assert killed >= 3, f"only {killed} of 10 kills landed while the restore ran"


def test_no_room_to_decode_is_named_and_is_not_called_corruption(
    tmpfs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full DBSNAP_TMPDIR during a restore or verify says so and the fix; the live database is untouched."""
    source = make_blob_db(tmp_path / "source.db", 3)  # 3 MiB of random bytes: more than the 1 MiB tmpfs
    store = tmp_path / "store"
    snap = dbsnap.snapshot(f"sqlite:///{source}", str(store))
    live = make_db(tmp_path / "live.db", 50)
    before = table_dump(live)
    env = {"DBSNAP_TMPDIR": str(tmpfs)}
    for args in (
        ["restore", snap.name, f"sqlite:///{live}", "--store", str(store), "--yes"],
        ["verify", "--restore", snap.name, f"sqlite:///{live}", "--store", str(store)],
    ):
        result = run_cli(*args, env=env)
        assert result.returncode == 1, (args, result.returncode, result.stderr)  # not 3: the snapshot is fine
        assert "no room to decode the snapshot" in result.stderr and "DBSNAP_TMPDIR" in result.stderr, (
            result.stderr
        )
        assert list(tmpfs.iterdir()) == []
    assert table_dump(live) == before


def test_no_room_for_the_sqlite_copy_is_named_with_the_fix(tmpfs: Path, tmp_path: Path) -> None:
    db = make_blob_db(tmp_path / "app.db", 3)
    store = tmp_path / "store"
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", str(store), env={"DBSNAP_TMPDIR": str(tmpfs)})
    assert result.returncode == 1, result.stderr
    assert "is full" in result.stderr and "DBSNAP_TMPDIR" in result.stderr, result.stderr
    assert dbsnap.list_snapshots(str(store)) == [] and list(tmpfs.iterdir()) == []
