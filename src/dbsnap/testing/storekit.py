"""The store conformance kit: one suite every store plugin runs against itself.

The way fsspec ships abstract test classes its backends run: subclass StoreKit in your plugin's
tests and give it a fixture that makes a new, empty store::

    from dbsnap.testing.storekit import StoreKit

    class TestMyStore(StoreKit):
        @pytest.fixture
        def store_url(self, tmp_path):
            return "mystore://bucket/" + tmp_path.name

        @pytest.fixture
        def store_env(self):  # what worker processes need (credentials), if anything
            return {"MYSTORE_TOKEN": "..."}

It checks the guarantees dbsnap's snapshot layer builds on the medium: a name is created exactly
once even when processes race for it, a snapshot is visible only once its manifest is, a run killed
in the middle of a write leaves nothing listed and nothing the next sweep leaves behind, a live
run's objects are never swept, only one of several hosts racing to take over a dead lock wins it,
and hostile names never reach the medium.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import queue
import secrets
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dbsnap.exceptions import InvalidNameError, LockHeld, SnapshotExistsError
from dbsnap.manifest import Snapshot
from dbsnap.plugins import create_plugins
from dbsnap.resolve import open_store
from dbsnap.stores.lock import acquire, is_lock, lock_name
from dbsnap.stores.store import Store

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
HOSTILE = ["../escape.bin", "a/b.bin", ".hidden.bin", "x.manifest.json", "", "a\x00b", "é/../..", "-" * 300]


def template(name: str, data: bytes, label: str = "kit") -> Snapshot:
    """A manifest for `data` stored as `name`."""
    return Snapshot(
        name=name,
        database=label,
        driver="sqlite",
        created_at=WHEN,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        codec="none",
    )


def open_kit_store(url: str) -> Store:
    """Open `url` through the installed store plugins, as dbsnap itself does."""
    return open_store(url, create_plugins())


def _worker(url: str, env: dict[str, str], jobs: Any, results: Any, barrier: Any) -> None:
    """A worker process: run the commands it is given, each after the barrier when asked."""
    os.environ.update(env)
    store = open_kit_store(url)
    while (job := jobs.get()) is not None:
        kind, arg = job
        barrier.wait()
        try:
            if kind == "create":
                name, data = arg
                token = secrets.token_hex(6)
                with store.writing(name, token) as pending:
                    pending.file.write(data)
                    pending.commit(template(name, data))
                results.put(("won", data))
            elif kind == "take":
                held = acquire(store.medium, arg, wait=0, stale_after=60)
                results.put(("won", held.token))
                barrier.wait()  # hold it until every worker has tried
                held.release()
        except (SnapshotExistsError, LockHeld, FileExistsError) as exc:
            results.put(("lost", type(exc).__name__))
            if kind == "take":
                barrier.wait()
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            results.put(("error", f"{type(exc).__name__}: {exc}"))
            if kind == "take":
                barrier.wait()


def _slow_writer(url: str, env: dict[str, str], name: str, ready: Any, stop: Any) -> None:
    """Write a payload a chunk at a time until killed (or, in a thread, until told to stop dead)."""
    os.environ.update(env)
    store = open_kit_store(url)
    writing = store.writing(name, secrets.token_hex(6))  # kept: collecting it would clean up
    pending = writing.__enter__()
    while not stop.is_set():
        pending.file.write(os.urandom(256 * 1024))
        ready.set()
        time.sleep(0.02)
    # A thread cannot be killed: it just stops, with no cleanup at all, as a killed process would
    # (kept referenced, so that not even the garbage collector closes it).
    _ABANDONED.append(writing)


_ABANDONED: list[Any] = []


class _Workers:
    """Two workers (processes, or threads for a medium that lives in one process) fed through queues."""

    def __init__(self, kind: str, url: str, envs: list[dict[str, str]]) -> None:
        self.jobs: Any
        self.results: Any
        if kind == "processes":
            ctx = multiprocessing.get_context("spawn")
            self.jobs, self.results = ctx.Queue(), ctx.Queue()
            self.barrier: Any = ctx.Barrier(len(envs))  # kept: a child unpickles it after start()
            self.workers: list[Any] = [
                ctx.Process(target=_worker, args=(url, env, self.jobs, self.results, self.barrier))
                for env in envs
            ]
        else:
            self.jobs, self.results, barrier = queue.Queue(), queue.Queue(), threading.Barrier(len(envs))
            self.workers = [
                threading.Thread(
                    target=_worker, args=(url, {}, self.jobs, self.results, barrier), daemon=True
                )
                for _ in envs
            ]
        for worker in self.workers:
            worker.start()

    def run(self, job: tuple[str, Any]) -> list[tuple[str, Any]]:
        for _ in self.workers:
            self.jobs.put(job)
        return [self.results.get(timeout=120) for _ in self.workers]

    def close(self) -> None:
        for _ in self.workers:
            self.jobs.put(None)
        for worker in self.workers:
            worker.join(30)


def _summary(outcomes: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """Outcomes fit for an assertion message (a payload is shown by its hash, never whole)."""
    shown = []
    for kind, data in outcomes:
        shown.append((kind, hashlib.sha256(data).hexdigest()[:12] if isinstance(data, bytes) else str(data)))
    return shown


class StoreKit:
    """The conformance tests; subclasses provide the `store_url` fixture (and `store_env` if needed)."""

    #: How many times two processes race to create one name (raise it for a remote medium).
    CREATE_RACES = 10
    #: How many times two processes with distinct host identities race to take over one dead lock.
    TAKEOVER_RACES = 20
    #: "processes", or "threads" for a medium that lives in one process (memory://): there a kill is
    #: a writer that stops with no cleanup at all.
    WORKERS = "processes"

    @pytest.fixture
    def store_env(self) -> dict[str, str]:
        """Environment a worker process needs to reach the store (none by default)."""
        return {}

    def write(self, store: Store, name: str, data: bytes = b"payload") -> Snapshot:
        """Write and commit one snapshot."""
        with store.writing(name, secrets.token_hex(6)) as pending:
            pending.file.write(data)
            return pending.commit(template(name, data))

    def read(self, store: Store, name: str) -> bytes:
        """Read a payload back whole."""
        with store.open_read(name) as handle:
            return handle.read()

    def test_a_committed_snapshot_lists_and_reads_back(self, store_url: str) -> None:
        """A committed snapshot lists, and its payload reads back byte for byte."""
        store = open_kit_store(store_url)
        data = os.urandom(3 * 1024 * 1024 + 17)
        snap = self.write(store, "kit-a.bin", data)
        assert [s.name for s in store.snapshots()] == ["kit-a.bin"]
        assert store.get("kit-a.bin") == snap
        assert self.read(store, "kit-a.bin") == data

    def test_nothing_lists_before_the_manifest(self, store_url: str) -> None:
        """Neither a payload being written nor a finished one lists before its manifest exists."""
        store = open_kit_store(store_url)
        with store.writing("kit-b.bin", secrets.token_hex(6)) as pending:
            pending.file.write(b"half")
            assert store.snapshots() == []
            pending.finish()
            assert store.snapshots() == []
            pending.commit(template("kit-b.bin", b"half"))
        assert [s.name for s in store.snapshots()] == ["kit-b.bin"]

    def test_an_uncommitted_write_leaves_nothing(self, store_url: str) -> None:
        """A write that fails leaves no object (and no incomplete upload) behind."""
        store = open_kit_store(store_url)

        def failing_dump() -> None:
            with store.writing("kit-c.bin", secrets.token_hex(6)) as pending:
                pending.file.write(b"x" * 100_000)
                raise RuntimeError("the dump failed")

        with pytest.raises(RuntimeError):
            failing_dump()
        assert store.snapshots() == []
        assert [n for n in store.entries() if not is_lock(n)] == []
        assert store.medium.incomplete_uploads() == {}

    def test_an_existing_name_is_never_overwritten(self, store_url: str) -> None:
        """A second snapshot of the same name is refused and the first one's bytes stay."""
        store = open_kit_store(store_url)
        self.write(store, "kit-d.bin", b"first")
        with pytest.raises(SnapshotExistsError):
            self.write(store, "kit-d.bin", b"second")
        assert self.read(store, "kit-d.bin") == b"first"

    def test_hostile_names_never_reach_the_medium(self, store_url: str) -> None:
        """Names with separators, leading dots, NULs or a manifest's suffix are refused before any write."""
        store = open_kit_store(store_url)
        for name in HOSTILE:
            with pytest.raises(InvalidNameError), store.writing(name, secrets.token_hex(6)):
                pass
        assert store.entries() == {}

    def test_delete_removes_the_manifest_then_the_payload(self, store_url: str) -> None:
        """A deleted snapshot leaves nothing behind."""
        store = open_kit_store(store_url)
        snap = self.write(store, "kit-e.bin")
        store.delete(snap, secrets.token_hex(6))
        assert store.snapshots() == []
        assert [n for n in store.entries() if not is_lock(n)] == []

    def test_the_sweep_spares_a_live_run_and_removes_a_dead_one(self, store_url: str) -> None:
        """A sweep with no minimum age never touches what a run holding its lock is writing."""
        store = open_kit_store(store_url)
        held = acquire(store.medium, "kit", stale_after=60)
        try:
            with store.writing("kit-f.bin", held.token) as pending:
                pending.file.write(b"live")
                pending.finish()
                assert store.sweep(timedelta(0), 60) == []
                pending.commit(template("kit-f.bin", b"live"))
        finally:
            held.release()
        assert [s.name for s in store.snapshots()] == ["kit-f.bin"]

    def test_processes_racing_for_one_name_never_both_win(
        self, store_url: str, store_env: dict[str, str]
    ) -> None:
        """Two processes committing one name at the same instant: exactly one wins, its bytes intact."""
        workers = _Workers(self.WORKERS, store_url, [store_env, store_env])
        try:
            for race in range(self.CREATE_RACES):
                name = f"race-{race}.bin"
                payloads = [bytes([i + 1]) * (1024 * 1024 + race) for i in range(2)]
                outcomes: list[tuple[str, Any]] = []
                for payload in payloads:
                    workers.jobs.put(("create", (name, payload)))
                outcomes = [workers.results.get(timeout=120) for _ in payloads]
                won = [data for kind, data in outcomes if kind == "won"]
                assert len(won) == 1, _summary(outcomes)
                assert [k for k, _ in outcomes].count("lost") == 1, _summary(outcomes)
                assert self.read(open_kit_store(store_url), name) == won[0]
        finally:
            workers.close()

    def test_hosts_racing_to_take_over_a_dead_lock_never_both_win(
        self, store_url: str, store_env: dict[str, str]
    ) -> None:
        """Two hosts finding one dead lock at the same instant: exactly one takes it over."""
        store = open_kit_store(store_url)
        store.medium.make(parents=False)
        envs = [{**store_env, "DBSNAP_HOST_ID": f"host-{h}"} for h in "ab"]
        workers = _Workers(self.WORKERS, store_url, envs)
        try:
            for race in range(self.TAKEOVER_RACES):
                label = f"lease-{race}"
                # A lock its holder gave up: both workers find it dead and race to replace it.
                dead = {
                    "host": "gone",
                    "pid": 1,
                    "started": WHEN.isoformat(),
                    "token": "0" * 12,
                    "released": True,
                }
                store.medium.put(lock_name(label), json.dumps(dead).encode())
                outcomes = workers.run(("take", label))
                assert sorted(k for k, _ in outcomes) == ["lost", "won"], _summary(outcomes)
        finally:
            workers.close()

    def test_a_run_killed_mid_write_leaves_nothing_listed_and_nothing_after_the_sweep(
        self, store_url: str, store_env: dict[str, str]
    ) -> None:
        """SIGKILL in the middle of a payload: nothing lists, and the next sweep leaves no debris."""
        if self.WORKERS == "processes":
            ctx = multiprocessing.get_context("spawn")
            ready, stop = ctx.Event(), ctx.Event()
            writer = ctx.Process(
                target=_slow_writer, args=(store_url, store_env, "kit-killed.bin", ready, stop)
            )
            writer.start()
            assert ready.wait(60), "the writer never started writing"
            time.sleep(0.5)
            assert writer.pid is not None
            os.kill(writer.pid, signal.SIGKILL)
            writer.join(10)
        else:
            event, halt = threading.Event(), threading.Event()
            thread = threading.Thread(
                target=_slow_writer, args=(store_url, {}, "kit-killed.bin", event, halt)
            )
            thread.start()
            assert event.wait(60), "the writer never started writing"
            time.sleep(0.5)
            halt.set()
            thread.join(10)
        store = open_kit_store(store_url)
        assert store.snapshots() == []
        store.sweep(timedelta(0), 60)
        assert [n for n in store.entries() if not is_lock(n)] == []
        assert store.medium.incomplete_uploads() == {}
