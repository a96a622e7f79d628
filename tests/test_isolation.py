"""Every store fails alone: refused, killed and stalled SFTP servers, a full local disk, stores that are down
when reading, and leftovers that belong to a live run."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import dbsnap
from tests.conftest import cli_env, leftovers, make_blob_db, make_db, run_cli
from tests.pgserver import Cluster, free_port
from tests.sshserver import SshServer

pytestmark = pytest.mark.slow


def outcome(result: subprocess.CompletedProcess[str]) -> dict[str, bool]:
    """Each store's outcome from `snapshot --json`."""
    return {s["store"]: s["ok"] for s in json.loads(result.stdout)["stores"]}


def test_a_refused_sftp_server_costs_nothing_but_its_copy(sshd: SshServer, tmp_path: Path) -> None:
    db = make_db(tmp_path / "app.db")
    down = f"sftp://dbsnaptest@127.0.0.1:{free_port()}/backups"
    result = run_cli(
        "snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "local"), "--store", down, "--json",
        env=sshd.env(),
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    stores = outcome(result)
    assert stores[str(tmp_path / "local")] is True and list(stores.values()).count(False) == 1
    assert "cannot connect" in result.stderr and "refused" in result.stderr.lower()
    assert len(dbsnap.list_snapshots(str(tmp_path / "local"))) == 1


@contextlib.contextmanager
def stopped(sshd: SshServer) -> Iterator[list[int]]:
    """SIGSTOP every SSH session process while the block runs (the server itself still accepts)."""
    pids = sshd.sessions()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGSTOP)
    try:
        yield pids
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def _start(db: Path, stores: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    args = [a for s in stores for a in ("--store", s)]
    return subprocess.Popen(
        [sys.executable, "-m", "dbsnap", "snapshot", f"sqlite:///{db}", *args, "--json"],
        env=cli_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(".dbsnap-tmp")] if folder.exists() else []


def test_a_stalled_sftp_session_is_cut_off_and_the_local_store_commits(
    sshd: SshServer, tmp_path: Path
) -> None:
    db = make_blob_db(tmp_path / "big.db", 60)
    local, remote = tmp_path / "local", sshd.remote / "stalled"
    env = {**sshd.env(), "DBSNAP_STORE_TIMEOUT": "3", "DBSNAP_TMPDIR": str(tmp_path)}
    proc = _start(db, [str(local), sshd.url("stalled")], env)
    deadline = time.monotonic() + 60
    while not [p for p in _temps(remote) if p.stat().st_size > 4 << 20]:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with stopped(sshd):
        started = time.monotonic()
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - started
    assert proc.returncode == 4, err
    assert took < 20, f"the stalled store held the run for {took:.0f}s"
    assert "stalled" in err and "DBSNAP_STORE_TIMEOUT" in err
    assert outcome(subprocess.CompletedProcess([], 4, out, err))[str(local)] is True
    assert run_cli("verify", "--all", "--store", str(local)).returncode == 0
    assert (
        json.loads(run_cli("list", "--store", sshd.url("stalled"), "--json", env=sshd.env()).stdout)[
            "snapshots"
        ]
        == []
    )
    # No new dump: the committed snapshot is copied to the store that missed it.
    name = json.loads(out)["snapshot"]["name"]
    os.environ.update(sshd.env())
    try:
        copied = dbsnap.api.copy_snapshot(name, str(local), sshd.url("stalled"))
    finally:
        for key in sshd.env():
            os.environ.pop(key, None)
    assert copied.sha256 == json.loads(out)["snapshot"]["sha256"]
    assert (remote / name).read_bytes() == (local / name).read_bytes()


def test_a_full_local_disk_costs_only_the_local_copy(sshd: SshServer, tmpfs: Path, tmp_path: Path) -> None:
    db = make_blob_db(tmp_path / "big.db", 3)  # 3 MiB: more than the 1 MiB tmpfs holds
    result = run_cli(
        "snapshot", f"sqlite:///{db}", "--store", str(tmpfs / "b"), "--store", sshd.url("fulldisk"), "--json",
        env=sshd.env(),
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert "is full" in result.stderr
    stores = outcome(result)
    assert stores[str(tmpfs / "b")] is False and list(stores.values()).count(True) == 1
    assert run_cli("verify", "--all", "--store", sshd.url("fulldisk"), env=sshd.env()).returncode == 0
    assert [p.name for p in (tmpfs / "b").iterdir()] == []


def test_reading_with_a_store_down_shows_the_others_and_says_so(sshd: SshServer, tmp_path: Path) -> None:
    db = make_db(tmp_path / "app.db")
    local = str(tmp_path / "local")
    snap = dbsnap.snapshot(f"sqlite:///{db}", local)
    down = f"sftp://dbsnaptest@127.0.0.1:{free_port()}/backups"
    env = sshd.env()
    listed = run_cli("list", "--store", local, "--store", down, "--json", env=env)
    assert listed.returncode == 4
    assert [s["name"] for s in json.loads(listed.stdout)["snapshots"]] == [snap.name]
    assert down.split("@")[1].split("/")[0] in listed.stderr and "could not be read" in listed.stderr
    verified = run_cli("verify", "--all", "--store", local, "--store", down, env=env)
    assert verified.returncode == 4 and f"ok   {snap.name}" in verified.stdout
    restored = run_cli(
        "restore", "--latest", f"sqlite:///{db}", "--yes", "--store", down, "--store", local, env=env
    )
    assert restored.returncode == 0, restored.stderr


def test_the_same_store_given_twice_is_one_store(db: Path, tmp_path: Path) -> None:
    local = tmp_path / "twice"
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", str(local), "--store", f"{local}/", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)["stores"]) == 1


def test_two_tenants_with_one_label_keep_their_own_history(tmp_path: Path) -> None:
    store = str(tmp_path / "shared")
    tenants = []
    for tenant in ("tenant1", "tenant2"):
        (tmp_path / tenant).mkdir()
        tenants.append(make_db(tmp_path / tenant / "db.sqlite3", rows=10 if tenant == "tenant1" else 20))
    for _ in range(2):
        for db in tenants:
            dbsnap.snapshot(f"sqlite:///{db}", store)
            time.sleep(1.1)  # distinct default names
    assert {s.database for s in dbsnap.list_snapshots(store)} == {"db"}
    for db, rows in zip(tenants, (10, 20), strict=True):
        with __import__("sqlite3").connect(db) as conn:
            conn.execute("DELETE FROM items")
        restored = run_cli("restore", "--latest", f"sqlite:///{db}", "--yes", "--store", store)
        assert restored.returncode == 0, restored.stderr
        with __import__("sqlite3").connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM items").fetchone()[0] == rows
    pruned = run_cli("prune", "--store", store, "--keep-last", "1", "--json")
    assert pruned.returncode == 0, pruned.stderr
    kept = {s.source["path"] for s in dbsnap.list_snapshots(store)}
    assert kept == {str(db.resolve()) for db in tenants}
    ambiguous = run_cli("prune", "--store", store, "--database", "db", "--keep-last", "1")
    assert ambiguous.returncode == 2 and "2 different databases" in ambiguous.stderr
    elsewhere = make_db(tmp_path / "copy.sqlite3", rows=1)
    copy_latest = run_cli("restore", "--latest", f"sqlite:///{elsewhere}", "--yes", "--store", store)
    assert copy_latest.returncode == 1 and "no snapshot of database 'copy'" in copy_latest.stderr


def test_the_sweep_never_touches_a_live_runs_files_and_one_database_never_blocks_another(
    pg: Cluster, tmp_path: Path
) -> None:
    """A dump stalled on a table lock for hours keeps its temporary payload; other databases prune on."""
    url = pg.createdb("stalled_dump")
    with pg.connect("stalled_dump") as conn:
        conn.execute("CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 1000)")
    store = tmp_path / "store"
    other = make_db(tmp_path / "other.db")
    dbsnap.snapshot(f"sqlite:///{other}", str(store))
    dbsnap.snapshot(f"sqlite:///{other}", str(store), name="other-2.sqlite.zst")
    with pg.connect("stalled_dump") as blocker:
        blocker.autocommit = False
        blocker.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")  # pg_dump waits for this
        proc = subprocess.Popen(
            [sys.executable, "-m", "dbsnap", "snapshot", "--store", str(store)],
            env=cli_env({"DBSNAP_DATABASE_URL": url}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not _temps(store):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        old = time.time() - 6 * 3600
        for temp in _temps(store):
            os.utime(temp, (old, old))  # "hours" old: only its run's lock says it is alive
        started = time.monotonic()
        pruned = run_cli("prune", "--store", str(store), "--keep-last", "1", "--stale-after", "0", "--json")
        assert pruned.returncode == 0, pruned.stderr
        assert time.monotonic() - started < 30, "the other database's prune waited for the stalled dump"
        assert [r["name"] for r in json.loads(pruned.stdout)["remove"]] != []
        assert json.loads(pruned.stdout)["swept"] == []
        assert _temps(store), "the live run's temporary payload was swept"
        blocker.rollback()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert run_cli("verify", "--all", "--store", str(store)).returncode == 0


def test_create_backup_with_the_offsite_server_down_keeps_the_local_backup(
    tmp_path: Path, sshd: SshServer
) -> None:
    from tests.test_django import add_users, manage

    env = {
        "DJANGO_SETTINGS_MODULE": "shopproject.settings_sqlite",
        "SHOP_SQLITE": str(tmp_path / "shop.sqlite3"),
        "SHOP_BACKUP_DIR": str(tmp_path / "backups"),
        "BACKUP_SFTP_HOST": "127.0.0.1",
        "BACKUP_SFTP_PORT": str(free_port()),
        "BACKUP_SFTP_USER": "dbsnaptest",
        "DBSNAP_SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
    }
    assert manage(env, "migrate", "-v", "0").returncode == 0
    add_users(env, "customer", 3)
    made = manage(env, "create_backup", "--upload")
    assert made.returncode == 4, made.stderr
    assert "Database backup created:" in made.stdout and "connection refused" in made.stderr
    assert len(list((tmp_path / "backups").glob("*.manifest.json"))) == 1
    listing = manage({**env, "BACKUP_SFTP_ENABLED": "true"}, "restore_backup", "--list")
    assert listing.returncode == 0, listing.stderr
    assert "local" in listing.stdout and "off-site store cannot be read" in listing.stderr


def test_killing_and_stalling_the_offsite_store_thirty_times_never_lists_an_invalid_snapshot(
    sshd: SshServer, sshd_env: SshServer, tmp_path: Path
) -> None:
    """Half the runs lose their SSH session, half have it frozen; the local store commits every time."""
    db = make_blob_db(tmp_path / "big.db", 12)
    local, url = str(tmp_path / "local"), sshd.url("kill-stall")
    env = {**sshd.env(), "DBSNAP_STORE_TIMEOUT": "2", "DBSNAP_SFTP_RETRIES": "0"}
    rng = __import__("random").Random(14)
    for run in range(30):
        proc = _start(db, [local, url], env)
        deadline = time.monotonic() + 30
        while not sshd.sessions() and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.4))
        if run % 2:
            with stopped(sshd):
                out, err = proc.communicate(timeout=60)
        else:
            sshd.kill_sessions()
            out, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 4), err
        assert outcome(subprocess.CompletedProcess([], 0, out, err))[local] is True
    for store in (local, url):
        for snap in dbsnap.list_snapshots(store):
            dbsnap.verify(snap.name, store)
    assert len(dbsnap.list_snapshots(local)) == 30
    final = run_cli("snapshot", f"sqlite:///{db}", "--store", local, "--store", url, env=sshd.env())
    assert final.returncode == 0, final.stderr
    for store in (local, url):
        pruned = run_cli(
            "prune", "--store", store, "--keep-last", "unlimited", "--stale-after", "0", env=sshd.env()
        )
        assert pruned.returncode == 0, pruned.stderr
    remote = sshd.remote / "kill-stall"
    for folder in (Path(local), remote):
        debris = leftovers(folder)
        assert debris == [], debris
