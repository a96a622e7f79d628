"""Helpers and pytest fixtures for people writing dbsnap plugins.

In a plugin's tests: ``pytest_plugins = ["dbsnap.testing"]``, then use the fixtures
``dbsnap_plugins`` (a fresh plugin manager), ``dbsnap_register`` (register a plugin object for one
test), ``dbsnap_store`` (a temporary local store URL) and ``sqlite_database`` (a SQLite URL with data).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import pytest
except ImportError as exc:  # pragma: no cover - exercised by the wheel smoke test
    raise ImportError(
        "dbsnap.testing needs pytest, which dbsnap itself does not: pip install 'dbsnap[testing]'"
    ) from exc

from dbsnap.plugins import Plugins, create_plugins


def make_sqlite_database(path: Path, rows: int = 100) -> str:
    """Create a SQLite database with a table `items` of `rows` rows; return its sqlite:/// URL."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, weight REAL)")
        conn.executemany(
            "INSERT INTO items (name, weight) VALUES (?, ?)", ((f"item {i}", i * 0.5) for i in range(rows))
        )
        conn.commit()
    finally:
        conn.close()
    return f"sqlite:///{path}"


@contextlib.contextmanager
def registered(plugins: Plugins, plugin: object, name: str, dist: str = "tests") -> Iterator[object]:
    """Register `plugin` on `plugins` for the duration of the block, and always unregister it."""
    plugins.register(plugin, name=name, dist=dist)
    try:
        yield plugin
    finally:
        plugins.unregister(name)


@pytest.fixture
def dbsnap_plugins() -> Plugins:
    """A fresh plugin manager with every installed entry point loaded."""
    return create_plugins()


@pytest.fixture
def dbsnap_register(dbsnap_plugins: Plugins) -> Iterator[Callable[..., object]]:
    """A function ``register(plugin, name)`` that registers a plugin until the test ends."""
    with contextlib.ExitStack() as stack:

        def register(plugin: object, name: str, dist: str = "tests") -> object:
            return stack.enter_context(registered(dbsnap_plugins, plugin, name, dist))

        yield register


@pytest.fixture
def dbsnap_store(tmp_path: Path) -> str:
    """The path of a temporary local store (created on first write)."""
    return str(tmp_path / "dbsnap-store")


@pytest.fixture
def sqlite_database(tmp_path: Path) -> str:
    """A sqlite:/// URL of a database with 100 rows in `items`."""
    return make_sqlite_database(tmp_path / "sample.db")
