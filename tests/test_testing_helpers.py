"""dbsnap.testing's fixtures work for plugin authors (used here exactly as a plugin's tests would)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dbsnap
from dbsnap import hookimpl
from dbsnap.plugins import Plugins

pytest_plugins = ["dbsnap.testing"]


def test_the_fixtures_snapshot_and_register(
    dbsnap_plugins: Plugins, dbsnap_register: Callable[..., object], dbsnap_store: str, sqlite_database: str
) -> None:
    seen: list[str] = []

    class Listener:
        @hookimpl
        def dbsnap_snapshot_finished(self, snapshot: Any) -> None:
            seen.append(snapshot.name)

    dbsnap_register(Listener(), "listener")
    snap = dbsnap.snapshot(sqlite_database, dbsnap_store, plugins=dbsnap_plugins)
    assert seen == [snap.name]
    assert [s.name for s in dbsnap.list_snapshots(dbsnap_store, plugins=dbsnap_plugins)] == [snap.name]
