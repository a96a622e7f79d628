"""The driver conformance kit: the tests every dbsnap driver runs against itself.

Subclass DriverKit in the driver's tests and give it a source database and an empty target::

    class TestMyDriver(DriverKit):
        @pytest.fixture
        def source(self, tmp_path):      # a URL of a database with data in it
            ...
        @pytest.fixture
        def target(self, tmp_path):      # a URL of an empty database the driver restores into
            ...
        def content(self, url):          # the database's whole content as text (its dump tool's)
            ...
        def change(self, url):           # change the database (the kit restores over the change)
            ...

The kit proves a round trip (in place and into an empty target) compared by `content`, that
damaged payloads are refused with nothing changed, that a restore killed at random points leaves the
target as it was, that the declared options and capabilities are well formed, and, with ``secret``
set (a password in the source URL), that the secret reaches no argv, manifest, log or message.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import pytest

import dbsnap
from dbsnap.drivers.base import CAPABILITIES, VERIFY_RESTORE, DriverOption, can
from dbsnap.exceptions import DbsnapError, VerificationError
from dbsnap.plugins import create_plugins
from dbsnap.redact import redact_url


class DriverKit:
    """Conformance tests for one driver; see the module docstring."""

    #: How many random kill points the kill test tries.
    KILLS: ClassVar[int] = 5
    #: True for a driver whose restore cannot be one transaction and that instead rolls back an
    #: interrupted restore at the start of the next dbsnap run on the database (MySQL/MariaDB, whose
    #: DDL commits implicitly). The kill test then makes that next run (a snapshot) before it compares.
    NEXT_RUN_RECOVERS: ClassVar[bool] = False
    #: A password that appears in the source URL, or None for drivers without one.
    secret: ClassVar[str | None] = None

    def content(self, url: str) -> str:
        """The database's content as comparable text."""
        raise NotImplementedError

    def change(self, url: str) -> None:
        """Change the database's content."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """Environment a `dbsnap` subprocess needs (credentials), if any."""
        return {}

    def _driver_class(self, url: str) -> Any:
        from dbsnap.resolve import open_driver

        return type(open_driver(url, create_plugins()))

    def test_options_and_capabilities_are_declared(self, source: str) -> None:
        """The driver declares well-formed options and known capabilities."""
        cls = self._driver_class(source)
        assert set(getattr(cls, "capabilities", frozenset())) <= set(CAPABILITIES)
        options = getattr(cls, "options", ())
        assert all(isinstance(o, DriverOption) for o in options)
        assert all(set(o.commands) <= {"snapshot", "restore"} for o in options)
        assert cls.name
        assert cls.extension.startswith(".")

    def test_a_round_trip_restores_exactly_in_place_and_into_an_empty_target(
        self, source: str, target: str, tmp_path: Path
    ) -> None:
        """Restores give the content back exactly, over a changed database and into an empty one."""
        store = str(tmp_path / "kit-store")
        before = self.content(source)
        snap = dbsnap.snapshot(source, store)
        self.change(source)
        assert self.content(source) != before, "change() must change what content() shows"
        dbsnap.restore(snap.name, source, store)
        assert self.content(source) == before
        dbsnap.restore(snap.name, target, store)
        assert self.content(target) == before

    def test_a_damaged_payload_is_refused_and_nothing_changes(self, source: str, tmp_path: Path) -> None:
        """A flipped byte fails verify and restore, and the database is left as it was."""
        store = tmp_path / "kit-store"
        snap = dbsnap.snapshot(source, str(store))
        self.change(source)
        changed = self.content(source)
        payload = store / snap.name
        data = bytearray(payload.read_bytes())
        data[len(data) // 2] ^= 0x01
        payload.write_bytes(bytes(data))
        with pytest.raises(VerificationError):
            dbsnap.verify(snap.name, str(store))
        with pytest.raises(DbsnapError):
            dbsnap.restore(snap.name, source, str(store))
        assert self.content(source) == changed

    def test_verify_restore_when_declared(self, source: str, tmp_path: Path) -> None:
        """verify --restore works when declared, and is refused by name when not."""
        store = str(tmp_path / "kit-store")
        snap = dbsnap.snapshot(source, store)
        if can(self._driver_class(source), VERIFY_RESTORE):
            assert dbsnap.verify(snap.name, store, restore_into=source).checks["restore"]
        else:
            with pytest.raises(DbsnapError, match="cannot verify by restoring"):
                dbsnap.verify(snap.name, store, restore_into=source)

    def test_a_restore_killed_at_any_point_leaves_the_target_as_it_was(
        self, source: str, tmp_path: Path
    ) -> None:
        """SIGKILL at random points of a restore leaves the database either as it was or fully restored."""
        store = str(tmp_path / "kit-store")
        before = self.content(source)
        snap = dbsnap.snapshot(source, store)
        env = {**os.environ, **self.env()}
        argv = [sys.executable, "-m", "dbsnap", "restore", snap.name, source, "--store", store, "--yes"]
        self.change(source)
        started = time.monotonic()
        subprocess.run(argv, env=env, check=True, capture_output=True, timeout=300)
        whole = time.monotonic() - started
        assert self.content(source) == before
        rng = random.Random(20261128)
        for _ in range(self.KILLS):
            self.change(source)
            changed = self.content(source)
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, whole))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            if self.NEXT_RUN_RECOVERS:
                dbsnap.snapshot(source, str(tmp_path / "kit-next-run"))
            assert self.content(source) in (changed, before), "a killed restore left the target half-written"

    def test_no_secret_reaches_argv_manifests_logs_or_messages(
        self, source: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A password in the URL never reaches a child's argv, a manifest, the output or an error message."""
        if self.secret is None:
            assert redact_url(source) == source, "a URL with a password needs `secret` set"
            return
        forms = {self.secret, quote(self.secret, safe="")}
        assert any(form in source for form in forms), "`secret` must be the password in `source`"
        store = tmp_path / "kit-store"
        env = {**os.environ, **self.env()}
        argv = [sys.executable, "-m", "dbsnap", "-v", "snapshot", "--store", str(store), "--json"]
        proc = subprocess.Popen(
            argv, env={**env, "DBSNAP_DATABASE_URL": source}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        seen_argv = _argv_while_running(proc)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
        for form in forms:
            assert not [a for a in seen_argv if form in a], "the password reached a child's argv"
            assert form.encode() not in out + err
            for path in store.iterdir():
                if path.name.endswith(".json"):
                    assert form not in path.read_text()
        head, _, tail = source.rpartition("@")
        with pytest.raises(DbsnapError) as info:
            dbsnap.snapshot(f"{head}@nonexistent.invalid.{tail}", str(store))
        for form in forms:
            assert form not in str(info.value)
            assert form not in caplog.text


def _argv_while_running(proc: subprocess.Popen[bytes]) -> list[str]:
    """Every argv of the process's descendants seen while it runs (polling /proc)."""
    seen: set[str] = set()
    while proc.poll() is None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                seen.add(
                    Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue
        time.sleep(0.01)
    return sorted(seen)
