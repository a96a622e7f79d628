"""The example plugin's own tests, written with dbsnap.testing's fixtures."""

from __future__ import annotations

from pathlib import Path

import dbsnap
from dbsnap.plugins import Plugins

pytest_plugins = ["dbsnap.testing"]


def test_round_trip(dbsnap_plugins: Plugins, dbsnap_store: str, tmp_path: Path) -> None:
    data = tmp_path / "events.jsonl"
    data.write_text('{"a": 1}\n{"b": "ü"}\n')
    snap = dbsnap.snapshot(f"jsonl:///{data}", dbsnap_store, plugins=dbsnap_plugins)
    assert snap.driver == "jsonl" and snap.driver_info["lines"] == 2
    data.write_text("changed\n")
    dbsnap.restore(snap.name, f"jsonl:///{data}", dbsnap_store, plugins=dbsnap_plugins)
    assert data.read_text() == '{"a": 1}\n{"b": "ü"}\n'
