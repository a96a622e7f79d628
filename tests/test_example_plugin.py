"""The example third-party package, found through real entry-point discovery like any plugin."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def test_the_example_plugin_is_listed_with_its_distribution() -> None:
    rows = json.loads(run_cli("plugins", "--json").stdout)["plugins"]
    jsonl = [r for r in rows if r["name"] == "jsonl"]
    assert [(r["kind"], r["plugin"], r["distribution"], r["usable"]) for r in jsonl] == [
        ("driver", "jsonl", "dbsnap-plugin-example", True)
    ]


def test_the_example_driver_round_trips_through_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "events.jsonl"
    data.write_text('{"event": "sale", "cents": 1299}\n{"event": "refund", "cents": -1299}\n')
    url = f"jsonl:///{data}"
    made = run_cli("snapshot", url, "--store", str(tmp_path / "s"), "--json")
    assert made.returncode == 0, made.stderr
    snapshot = json.loads(made.stdout)["snapshot"]
    assert snapshot["driver"] == "jsonl" and snapshot["name"].endswith(".jsonl.zst")
    original = data.read_text()
    data.write_text("{}\n")
    restored = run_cli("restore", snapshot["name"], url, "--store", str(tmp_path / "s"), "--yes")
    assert restored.returncode == 0, restored.stderr
    assert data.read_text() == original


def test_blocking_the_example_plugin_removes_its_scheme(tmp_path: Path) -> None:
    result = run_cli("snapshot", f"jsonl:///{tmp_path}/x.jsonl", env={"DBSNAP_DISABLE_PLUGINS": "jsonl"})
    assert result.returncode == 2
    assert "no driver for jsonl://" in result.stderr
