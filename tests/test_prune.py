"""Prune through the API and the CLI: per-database plans, dry runs, only dbsnap's own files."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dbsnap
from dbsnap.manifest import Snapshot
from dbsnap.stores.local import LocalMedium
from dbsnap.stores.store import Store
from tests.conftest import run_cli

START = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)


def seed(root: Path, label: str, days: int) -> list[str]:
    """Commit one snapshot a day for `days` days through the real commit protocol."""
    store = Store(LocalMedium(str(root)))
    names = []
    for day in range(days):
        when = START + timedelta(days=day)
        name = f"{label}-{when:%Y%m%dT%H%M%SZ}.sqlite.zst"
        data = f"{label} {day}".encode()
        with store.writing(name, "0" * 12) as pending:
            pending.file.write(data)
            pending.commit(
                Snapshot(
                    name=name,
                    database=label,
                    driver="sqlite",
                    created_at=when,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    codec="none",
                )
            )
        names.append(name)
    return names[::-1]


def test_dry_run_json_plans_each_database_on_its_own(tmp_path: Path) -> None:
    store = tmp_path / "store"
    app = seed(store, "app", 40)
    crm = seed(store, "crm", 3)
    (store / "README.txt").write_text("operator notes")
    before = sorted(p.name for p in store.iterdir())
    result = run_cli(
        "prune",
        "--store",
        str(store),
        "--keep-daily",
        "7",
        "--keep-weekly",
        "unlimited",
        "--dry-run",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["dry_run"] is True
    kept = {(k["database"], k["name"]): k["reasons"] for k in out["keep"]}
    removed = {(r["database"], r["name"]) for r in out["remove"]}
    # crm's three snapshots are not eaten by app's counts.
    assert all(("crm", n) in kept for n in crm)
    assert ("app", app[0]) in kept and "newest snapshot" in kept[("app", app[0])]
    assert kept[("app", app[6])] == ["daily snapshot"]
    assert ("app", app[7]) in removed or "weekly snapshot" in kept[("app", app[7])]
    assert len(kept) + len(removed) == 43
    assert sorted(p.name for p in store.iterdir()) == before


def test_prune_deletes_only_what_the_plan_removes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    app = seed(store, "app", 10)
    (store / "README.txt").write_text("operator notes")
    (store / "app-19990101T000000Z.sqlite.zst").write_bytes(b"not ours: no manifest")
    results = dbsnap.prune(str(store), dbsnap.Policy(keep_last=3), now=START + timedelta(days=10))
    assert results[0].removed == app[3:]
    left = sorted(p.name for p in store.iterdir())
    expected = [
        *app[:3],
        *(n + ".manifest.json" for n in app[:3]),
        "README.txt",
        "app-19990101T000000Z.sqlite.zst",
    ]
    assert left == sorted(expected)


def test_dry_run_text_shows_reasons(tmp_path: Path) -> None:
    store = tmp_path / "store"
    seed(store, "app", 3)
    result = run_cli("prune", "--store", str(store), "--keep-last", "1", "--dry-run")
    assert result.returncode == 0
    assert "keep   app-20260103T030000Z.sqlite.zst  (newest snapshot, last snapshot)" in result.stdout
    assert "would remove app-20260101T030000Z.sqlite.zst" in result.stdout


def test_prune_filters_by_database(tmp_path: Path) -> None:
    store = tmp_path / "store"
    seed(store, "app", 4)
    seed(store, "crm", 4)
    result = run_cli("prune", "--store", str(store), "--database", "crm", "--keep-last", "1", "--json")
    out = json.loads(result.stdout)
    assert {r["database"] for r in out["remove"]} == {"crm"}
    assert len(dbsnap.list_snapshots(str(store), database="app")) == 4
    assert len(dbsnap.list_snapshots(str(store), database="crm")) == 1


def test_environment_sets_the_default_policy(tmp_path: Path) -> None:
    store = tmp_path / "store"
    seed(store, "app", 6)
    legacy = run_cli(
        "prune", "--store", str(store), "--dry-run", "--json", env={"BACKUP_RETENTION_COUNT": "4"}
    )
    assert len(json.loads(legacy.stdout)["keep"]) == 4
    modern = run_cli(
        "prune",
        "--store",
        str(store),
        "--dry-run",
        "--json",
        env={"BACKUP_RETENTION_COUNT": "4", "DBSNAP_KEEP_LAST": "2"},
    )
    assert len(json.loads(modern.stdout)["keep"]) == 2


def test_bad_retention_options_are_usage_errors(tmp_path: Path) -> None:
    for args in (
        ["--keep-last", "-2"],
        ["--keep-within", "7 days"],
        ["--keep-daily", "1", "--tz", "Nowhere/City"],
    ):
        result = run_cli("prune", "--store", str(tmp_path), *args)
        assert result.returncode == 2, (args, result.stderr)
