"""The daily backup task on a real Celery worker with the Redis broker, and its beat entry."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import dbsnap
from dbsnap import hookimpl
from dbsnap.plugins import create_plugins, get_plugins
from dbsnap.resolve import open_store
from dbsnap.stores.records import read_records
from tests.conftest import make_db
from tests.s3server import S3Server
from tests.sshserver import SshServer

ROOT = Path(__file__).resolve().parents[1]
BROKER = "redis://127.0.0.1:6379/0"


@pytest.fixture
def worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Path]]:
    """A Celery worker subprocess (two processes) on a queue of its own; yields the app and BACKUP_DIR."""
    with running_worker(tmp_path, monkeypatch, {}) as started:
        yield started


@contextlib.contextmanager
def running_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, str]
) -> Iterator[tuple[Any, Path]]:
    """Start a worker whose environment has `extra` on top of the database and BACKUP_DIR."""
    queue = f"dbsnap-test-{secrets.token_hex(4)}"
    monkeypatch.setenv("DBSNAP_TEST_QUEUE", queue)
    monkeypatch.setenv("DBSNAP_TEST_BROKER", BROKER)
    db = make_db(tmp_path / "app.db", 200)
    backups = tmp_path / "backups"
    env = {
        # test_django configures Django in this process for good; the worker must not inherit it.
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DBSNAP_", "BACKUP_", "SHOP_", "DJANGO_SETTINGS_MODULE"))
        },
        "DBSNAP_TEST_QUEUE": queue,
        "DBSNAP_TEST_BROKER": BROKER,
        "DATABASE_URL": f"sqlite:///{db}",
        "BACKUP_DIR": str(backups),
        "BACKUP_RETENTION_COUNT": "2",
        **extra,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.celeryapp",
            "worker",
            "-c",
            "2",
            "-P",
            "prefork",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    import importlib

    import tests.celeryapp

    app = importlib.reload(tests.celeryapp).app
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=None, timeout=1.0):
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                pytest.fail(f"the Celery worker did not start (is Redis on 6379 running?):\n{out}")
        yield app, backups
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        print(out)


TASK = "dbsnap.contrib.celery.backup_database"


def test_the_worker_makes_one_backup_for_two_simultaneous_tasks_and_rotates(worker: tuple[Any, Path]) -> None:
    app, backups = worker
    first, second = app.send_task(TASK), app.send_task(TASK)
    results = sorted([first.get(timeout=120), second.get(timeout=120)], key=lambda r: "skipped" in r)
    assert "snapshot" in results[0] and "skipped" in results[1], results
    assert len(list(backups.glob("*.manifest.json"))) == 1
    for _ in range(3):
        assert "snapshot" in app.send_task(TASK, kwargs={"force": True}).get(timeout=120)
    assert len(list(backups.glob("*.manifest.json"))) == 2
    assert not [p for p in backups.iterdir() if p.name.startswith(".")]


def test_the_beat_entry_runs_at_the_next_0300_utc_whatever_the_app_timezone() -> None:
    from celery import Celery

    from dbsnap.contrib.celery import beat_schedule

    app = Celery("beat-test", set_as_current=False)
    app.conf.timezone = "America/New_York"  # type: ignore[misc,assignment]
    for now, expected in (
        (datetime(2026, 3, 10, 14, 0, tzinfo=UTC), datetime(2026, 3, 11, 3, 0, tzinfo=UTC)),
        (datetime(2026, 3, 10, 2, 59, tzinfo=UTC), datetime(2026, 3, 10, 3, 0, tzinfo=UTC)),
        (datetime(2026, 12, 31, 3, 0, tzinfo=UTC), datetime(2027, 1, 1, 3, 0, tzinfo=UTC)),
    ):
        entry = beat_schedule(now=partial(lambda moment: moment, now))["dbsnap-daily-backup"]
        assert entry["task"] == TASK
        schedule = entry["schedule"]
        schedule.app = app
        assert now + schedule.remaining_estimate(now) == expected


def test_a_failing_task_fires_the_failure_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbsnap.contrib.celery import backup_database

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/missing.db")
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    seen: list[str] = []

    class Listener:
        @hookimpl
        def dbsnap_snapshot_failed(self, database: str, error: BaseException) -> None:
            seen.append(f"{database}: {error}")

    get_plugins().register(Listener(), name="listener")
    result = backup_database.apply()
    assert result.failed()
    assert len(seen) == 1 and "does not exist" in seen[0]


def test_a_failed_offsite_copy_is_retried_as_a_copy_without_a_new_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sshd: SshServer
) -> None:
    remote = sshd.remote / "celery-offsite"
    remote.mkdir()
    shutil.chown(remote, "dbsnaptest", "dbsnaptest")
    remote.chmod(0o000)  # the off-site store refuses the first attempt
    extra = {
        "BACKUP_SFTP_ENABLED": "true",
        "BACKUP_SFTP_HOST": "127.0.0.1",
        "BACKUP_SFTP_PORT": str(sshd.port),
        "BACKUP_SFTP_USER": "dbsnaptest",
        "BACKUP_SFTP_DIRECTORY": str(remote),
        "DBSNAP_RETRY_DELAY": "2",
        **sshd.env(),
    }
    with running_worker(tmp_path, monkeypatch, extra) as (app, backups):
        result = app.send_task(TASK)
        deadline = time.monotonic() + 60
        while not list(backups.glob("*.manifest.json")):
            assert time.monotonic() < deadline, "the local backup was never made"
            time.sleep(0.1)
        remote.chmod(0o700)  # the server is back before the retry
        done = result.get(timeout=120)
    local = sorted(p.name for p in backups.glob("*.manifest.json"))
    assert len(local) == 1, "the retry dumped the database again"
    name = local[0].removesuffix(".manifest.json")
    assert done["snapshot"] == name and done["copied"] is True
    assert (remote / name).read_bytes() == (backups / name).read_bytes()
    assert sorted(p.name for p in remote.iterdir()) == [name, f"{name}.manifest.json"]


def test_the_worker_writes_the_offsite_copy_to_s3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3: S3Server
) -> None:
    url = s3.url("celery")
    with running_worker(tmp_path, monkeypatch, {"DBSNAP_OFFSITE": url, **s3.env()}) as (app, _):
        done = app.send_task(TASK).get(timeout=120)
    assert "snapshot" in done and len(done["stores"]) == 2, done
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    assert [s.name for s in dbsnap.list_snapshots(url)] == [done["snapshot"]]
    dbsnap.verify(done["snapshot"], url)


def test_a_local_only_backup_never_cancels_the_scheduled_offsite_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3: S3Server
) -> None:
    from dbsnap.contrib.celery import backup_database

    db = make_db(tmp_path / "app.db", 20)
    url = s3.url("skip-rule")
    for key, value in {
        **s3.env(),
        "DATABASE_URL": f"sqlite:///{db}",
        "BACKUP_DIR": str(tmp_path / "b"),
    }.items():
        monkeypatch.setenv(key, value)
    manual = dbsnap.snapshot(f"sqlite:///{db}", str(tmp_path / "b"))  # a manual, local-only backup
    monkeypatch.setenv("DBSNAP_OFFSITE", url)
    first = backup_database.apply().get()
    assert "snapshot" in first and first["snapshot"] != manual.name, first
    assert "skipped" in backup_database.apply().get()  # now one reached every store: the next is skipped


def _drill_records(backups: Path) -> list[tuple[str, bool]]:
    records = read_records(open_store(str(backups), create_plugins()))
    return [(str(r["snapshot"]), bool(r["ok"])) for r in records if r["kind"] == "drill"]


@contextlib.contextmanager
def running_beat(tmp_path: Path, every: float) -> Iterator[None]:
    """celery beat sending the drill task every `every` seconds to the test queue."""
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DBSNAP_", "BACKUP_", "DJANGO_SETTINGS_MODULE"))
        },
        "DBSNAP_TEST_QUEUE": os.environ["DBSNAP_TEST_QUEUE"],
        "DBSNAP_TEST_BROKER": BROKER,
        "DBSNAP_TEST_DRILL_EVERY": str(every),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.celeryapp", "beat",
         "-s", str(tmp_path / "beat-schedule"), "-l", "INFO"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        yield
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        print(out)


def _wait_for(predicate: Any, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_beat_and_worker_drill_the_newest_snapshot_and_a_corrupt_one_is_heard_of(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    webhook: tuple[str, list[dict[str, Any]]],
    request: pytest.FixtureRequest,
    engine: str,
) -> None:
    hook_url, received = webhook
    extra = {"DBSNAP_NOTIFY_URL": hook_url}
    if engine == "postgres":
        pg = request.getfixturevalue("pg")
        url = pg.createdb("celery_drill")
        with pg.connect("celery_drill") as conn:
            conn.execute("CREATE TABLE orders AS SELECT g AS id FROM generate_series(1, 300) g")
        extra["DATABASE_URL"] = url
    with running_worker(tmp_path, monkeypatch, extra) as (_, backups):
        database = extra.get("DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
        good = dbsnap.snapshot(database, str(backups))
        with running_beat(tmp_path, every=1.0):
            _wait_for(lambda: (good.name, True) in _drill_records(backups), "a good drill record")
            bad = dbsnap.snapshot(database, str(backups))
            payload = backups / bad.name
            data = bytearray(payload.read_bytes())
            data[len(data) // 2] ^= 1
            payload.write_bytes(bytes(data))
            _wait_for(lambda: (bad.name, False) in _drill_records(backups), "a failed drill record")
            _wait_for(lambda: any(e["event"] == "drill_failed" for e in received), "the notifier")
    failed = [e for e in received if e["event"] == "drill_failed"]
    assert failed[0]["database"] == ("celery_drill" if engine == "postgres" else "app")


def test_the_beat_schedule_has_a_weekly_drill_after_the_daily_backup() -> None:
    from dbsnap.contrib.celery import beat_schedule

    sunday = datetime(2026, 11, 29, 4, 0, tzinfo=UTC)  # a Sunday, before 04:30
    entries = beat_schedule(now=lambda: sunday)
    assert entries["dbsnap-weekly-drill"]["task"] == "dbsnap.contrib.celery.drill_database"
    due, wait = entries["dbsnap-weekly-drill"]["schedule"].is_due(datetime(2026, 11, 22, 4, 30, tzinfo=UTC))
    assert due is False and round(wait) == 30 * 60
    assert "dbsnap-weekly-drill" not in beat_schedule(drill=False)
