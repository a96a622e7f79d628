"""Store URLs dbsnap refuses, the one it allows for experiments, and snapshots dated in the future."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

import dbsnap
from dbsnap.config import Config
from dbsnap.manifest import Snapshot
from dbsnap.plugins import create_plugins
from dbsnap.resolve import open_store
from tests.conftest import make_db, run_cli


@pytest.mark.parametrize(
    "url",
    ["simplecache::sftp://u@127.0.0.1/x", "ftp://127.0.0.1/backups", "zip://archive.zip", "gs://bucket/x"],
)
def test_protocols_no_store_plugin_vouches_for_are_refused(db: Path, tmp_path: Path, url: str) -> None:
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", url)
    assert result.returncode == 2, result.stderr
    assert "no store plugin vouches" in result.stderr and "s3, sftp" in result.stderr
    assert "DBSNAP_UNVETTED_FSSPEC_STORES" in result.stderr


def test_the_experiment_switch_allows_them_loudly(db: Path, tmp_path: Path) -> None:
    url = f"simplecache::file://{tmp_path / 'experiment'}"
    result = run_cli(
        "snapshot", f"sqlite:///{db}", "--store", url, env={"DBSNAP_UNVETTED_FSSPEC_STORES": "true"}
    )
    assert result.returncode == 0, result.stderr
    assert "without dbsnap's guarantees" in result.stderr


@pytest.mark.parametrize("folder", ["/srv/a#b", "/srv/what?x=1", "relative#1/backups", "/srv/ü 1"])
def test_backup_sftp_directory_means_exactly_that_folder(
    folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = Path("/tmp/dbsnap-test-known-hosts")
    known.write_text("")
    env = {
        "BACKUP_SFTP_ENABLED": "true",
        "BACKUP_SFTP_HOST": "backup.example.org",
        "BACKUP_SFTP_USER": "app",
        "BACKUP_SFTP_DIRECTORY": folder,
        "DBSNAP_SFTP_KNOWN_HOSTS": str(known),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    url = Config.from_env().stores[1]
    medium = open_store(url, create_plugins()).medium
    assert medium.conn.root == folder  # type: ignore[attr-defined]


def test_a_snapshot_dated_in_the_future_is_flagged_and_never_the_latest(tmp_path: Path) -> None:
    db = make_db(tmp_path / "app.db", rows=5)
    store = tmp_path / "store"
    real = dbsnap.snapshot(f"sqlite:///{db}", str(store))
    # A host with its clock two days ahead wrote this one (a valid manifest, only its date is wrong).
    ahead = attrs.evolve(real, name="app-future.sqlite.zst", created_at=datetime.now(UTC) + timedelta(days=2))
    (store / ahead.name).write_bytes((store / real.name).read_bytes())
    (store / f"{ahead.name}.manifest.json").write_text(ahead.to_json())
    listed = run_cli("list", "--store", str(store))
    assert "IN THE FUTURE" in listed.stdout
    flags = {
        s["name"]: s["in_future"]
        for s in json.loads(run_cli("list", "--store", str(store), "--json").stdout)["snapshots"]
    }
    assert flags == {real.name: False, ahead.name: True}
    restored = run_cli("restore", "--latest", f"sqlite:///{db}", "--yes", "--store", str(store), "--json")
    assert json.loads(restored.stdout)["restored"]["name"] == real.name
    planned = json.loads(
        run_cli("prune", "--store", str(store), "--keep-last", "1", "--dry-run", "--json").stdout
    )
    reasons = {k["name"]: k["reasons"] for k in planned["keep"]}
    assert reasons == {real.name: ["newest snapshot", "last snapshot"], ahead.name: ["in the future"]}
    assert Snapshot.from_json((store / f"{ahead.name}.manifest.json").read_text()).created_at > datetime.now(
        UTC
    )


@pytest.mark.parametrize("label", ["a\x1b[31mred", "two\nlines", "tab\there", "del\x7f", " "])
def test_labels_with_control_characters_are_refused(db: Path, tmp_path: Path, label: str) -> None:
    result = run_cli("snapshot", f"sqlite:///{db}", "--store", str(tmp_path / "s"), "--label", label)
    assert result.returncode == 2, result.stderr
    assert "control characters" in result.stderr or "empty" in result.stderr
    assert not (tmp_path / "s").exists()
