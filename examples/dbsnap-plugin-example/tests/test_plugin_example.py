"""The example plugin's own tests: dbsnap's driver conformance kit, and a round trip of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

import dbsnap
from dbsnap.plugins import Plugins
from dbsnap.testing.driverkit import DriverKit

pytest_plugins = ["dbsnap.testing"]

LINES = "".join(f'{{"event": "sale", "n": {i}, "text": "ü{i}"}}\n' for i in range(20_000))


class TestJsonLinesDriver(DriverKit):
    """Every test a dbsnap driver must pass, run against this one."""

    @pytest.fixture
    def source(self, tmp_path: Path) -> str:
        """A file with data."""
        path = tmp_path / "events.jsonl"
        path.write_text(LINES)
        return f"jsonl:///{path}"

    @pytest.fixture
    def target(self, tmp_path: Path) -> str:
        """A file that does not exist yet."""
        return f"jsonl:///{tmp_path / 'empty.jsonl'}"

    def content(self, url: str) -> str:
        """The file's text."""
        return Path(url[len("jsonl:///") :]).read_text()

    def change(self, url: str) -> None:
        """Append a line."""
        with Path(url[len("jsonl:///") :]).open("a") as out:
            out.write('{"event": "refund"}\n')


def test_round_trip(dbsnap_plugins: Plugins, dbsnap_store: str, tmp_path: Path) -> None:
    data = tmp_path / "events.jsonl"
    data.write_text('{"a": 1}\n{"b": "ü"}\n')
    snap = dbsnap.snapshot(f"jsonl:///{data}", dbsnap_store, plugins=dbsnap_plugins)
    assert snap.driver == "jsonl" and snap.driver_info["lines"] == 2
    data.write_text("changed\n")
    dbsnap.restore(snap.name, f"jsonl:///{data}", dbsnap_store, plugins=dbsnap_plugins)
    assert data.read_text() == '{"a": 1}\n{"b": "ü"}\n'
