"""dbsnap check (freshness, metrics a Prometheus parser reads) and dbsnap drill (restore drills)."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import dbsnap
from dbsnap.checking import Limits, check
from dbsnap.durations import Duration
from dbsnap.manifest import Snapshot
from dbsnap.plugins import create_plugins
from dbsnap.resolve import open_store
from dbsnap.stores.records import read_records
from tests.conftest import make_db, run_cli
from tests.pgserver import Cluster


def _aged(store: Path, snap: Snapshot, hours: float) -> Snapshot:
    """Rewrite a snapshot's manifest as if it had been taken `hours` ago."""
    older = Snapshot.from_manifest({**snap.to_manifest(), "created_at": (
        datetime.now(UTC) - timedelta(hours=hours)).isoformat().replace("+00:00", "Z")})  # fmt: skip
    (store / f"{snap.name}.manifest.json").write_text(older.to_json())
    return older


def _metrics(path: Path) -> dict[str, list[Any]]:
    families = text_string_to_metric_families(path.read_text())
    return {family.name: list(family.samples) for family in families}


def test_a_snapshot_27_hours_old_makes_check_max_age_26h_exit_stale(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    store = tmp_path / "store"
    _aged(store, dbsnap.snapshot(f"sqlite:///{db}", str(store)), hours=27)
    stale = run_cli("check", "--store", str(store), "--max-age", "26h", "--json")
    assert stale.returncode == 12, stale.stderr
    document = json.loads(stale.stdout)
    assert document["stale"] is True
    assert document["databases"][0]["problems"] == ["newest snapshot: 27.0h old (limit 1d2h)"]
    assert document["error"]["exit_code"] == 12
    fine = run_cli("check", "--store", str(store), "--max-age", "28h")
    assert fine.returncode == 0, fine.stderr


def test_openmetrics_are_read_by_prometheus_and_fire_the_usual_alert(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    local, offsite = tmp_path / "local", tmp_path / "offsite"
    dbsnap.snapshot(f"sqlite:///{db}", [str(local), str(offsite)])
    _aged(offsite, dbsnap.list_snapshots(str(offsite))[0], hours=27)  # the off-site copy fell behind
    newest = dbsnap.snapshot(f"sqlite:///{db}", str(local))
    assert dbsnap.verify(newest.name, str(local)).snapshot == newest
    prom = tmp_path / "textfile" / "dbsnap.prom"
    prom.parent.mkdir()
    result = run_cli(
        "check", "--store", str(local), "--store", str(offsite), "--max-age", "26h", "--every-store",
        "--openmetrics", str(prom),
    )  # fmt: skip
    assert result.returncode == 12, result.stderr
    assert f"{offsite}: no snapshot within 1d2h" in result.stdout
    metrics = _metrics(prom)
    last = {s.labels["store"]: s.value for s in metrics["dbsnap_snapshot_last_success_timestamp_seconds"]}
    now = datetime.now(UTC).timestamp()
    # The alert "no backup in 26 h", per store: fires for the off-site store only.
    firing = sorted(store for store, value in last.items() if now - value > 26 * 3600)
    assert firing == [str(offsite)]
    assert [s.value for s in metrics["dbsnap_verify_last_ok"]] == [1.0]
    assert [s.value for s in metrics["dbsnap_check_stale"]] == [1.0]
    assert {s.labels["store"]: s.value for s in metrics["dbsnap_store_up"]} == {
        str(local): 1,
        str(offsite): 1,
    }
    assert oct(prom.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in prom.parent.iterdir()] == ["dbsnap.prom"]  # written atomically, no temporary


def test_check_reports_verification_and_drill_records_and_their_limits(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    store = tmp_path / "store"
    snap = dbsnap.snapshot(f"sqlite:///{db}", str(store))
    limits = Limits(max_verify_age=Duration.parse("1d"), max_drill_age=Duration.parse("1d"))
    report = check(str(store), limits=limits)
    assert report.databases[0]["problems"] == ["no good verify within 1d", "no good drill within 1d"]
    dbsnap.verify(snap.name, str(store))
    dbsnap.drill(f"sqlite:///{db}", str(store), expect=[("select count(*) from items", ">=1000")])
    report = check(str(store), limits=limits)
    assert report.databases[0]["problems"] == []
    assert report.databases[0]["drill"]["last"]["ok"] is True
    records = read_records(open_store(str(store), create_plugins()))
    assert [r["kind"] for r in records] == ["verify", "drill"]
    assert records[1]["checks"]["expectations"] == [
        {"query": "select count(*) from items", "condition": ">=1000", "value": 1000, "ok": True}
    ]


def test_a_failed_drill_is_recorded_kept_beside_the_last_good_one_and_makes_check_stale(
    tmp_path: Path,
) -> None:
    db = make_db(tmp_path / "shop.db")
    store = tmp_path / "store"
    url = f"sqlite:///{db}"
    dbsnap.snapshot(url, str(store))
    dbsnap.drill(url, str(store))
    newest = dbsnap.snapshot(url, str(store))
    payload = store / newest.name
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 1
    payload.write_bytes(bytes(data))
    failed = run_cli("drill", url, "--store", str(store), "--json")
    assert failed.returncode == 3, failed.stderr
    assert json.loads(failed.stdout)["drills"][0]["ok"] is False
    records = read_records(open_store(str(store), create_plugins()))
    assert [(r["kind"], r["ok"]) for r in records] == [("drill", True), ("drill", False)]
    stale = run_cli("check", "--store", str(store), "--max-drill-age", "1d")
    assert stale.returncode == 12
    assert "the last drill failed" in stale.stdout


def test_an_expectation_that_does_not_hold_fails_the_drill(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    store = tmp_path / "store"
    dbsnap.snapshot(f"sqlite:///{db}", str(store))
    result = run_cli(
        "drill", f"sqlite:///{db}", "--store", str(store), "--expect", "select count(*) from items", ">5000"
    )
    assert result.returncode == 3
    assert "expected 'select count(*) from items' >5000, got 1000" in result.stdout


def test_a_postgres_drill_restores_into_a_scratch_database_and_a_corrupt_one_is_heard_of(
    pg: Cluster, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url = pg.createdb("drilled")
    with pg.connect("drilled") as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, cents int)")
        conn.execute("INSERT INTO orders (cents) SELECT g FROM generate_series(1, 500) g")
    store = tmp_path / "store"
    before = pg.databases()
    dbsnap.snapshot(url, str(store))
    ok = run_cli(
        "drill", url, "--store", str(store), "--expect", "select count(*) from orders", "=500", "--json"
    )
    assert ok.returncode == 0, ok.stderr
    record = json.loads(ok.stdout)["drills"][0]["record"]
    assert record["checks"]["restore"]["tables"] == {"public.orders": 500}
    assert pg.databases() == before  # the scratch database is gone
    newest = dbsnap.snapshot(url, str(store))
    payload = store / newest.name
    data = bytearray(payload.read_bytes())
    data[100] ^= 1
    payload.write_bytes(bytes(data))
    hook_url, received = webhook
    failed = run_cli("drill", url, "--store", str(store), env={"DBSNAP_NOTIFY_URL": hook_url})
    assert failed.returncode == 3
    assert [(e["event"], e["database"]) for e in received] == [("drill_failed", "drilled")]
    assert "sha256" in received[0]["error"] or "hash" in received[0]["error"]


def test_drill_with_nothing_to_drill_fails_and_says_so(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    (tmp_path / "store").mkdir()
    result = run_cli("drill", f"sqlite:///{db}", "--store", str(tmp_path / "store"))
    assert result.returncode == 3
    assert "no snapshot" in result.stdout


def test_records_are_bounded_however_often_one_verifies(tmp_path: Path) -> None:
    db = make_db(tmp_path / "shop.db")
    store = tmp_path / "store"
    snap = dbsnap.snapshot(f"sqlite:///{db}", str(store))
    for _ in range(5):
        dbsnap.verify(snap.name, str(store))
    hidden = [p.name for p in store.iterdir() if p.name.startswith(".dbsnap-record.")]
    assert len(hidden) == 1
    digest = hashlib.sha256(snap.identity.encode()).hexdigest()[:16]
    assert hidden[0].startswith(f".dbsnap-record.verify.{digest}.")


@pytest.mark.parametrize("limit", ["26", "26 hours", "1x"])
def test_a_bad_limit_is_a_usage_error(tmp_path: Path, limit: str) -> None:
    result = run_cli("check", "--store", str(tmp_path), "--max-age", limit)
    assert result.returncode == 2
    assert "duration" in result.stderr
    assert os.listdir(tmp_path) == []
