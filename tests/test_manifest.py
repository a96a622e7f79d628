"""The manifest's JSON form: round trip and refusal of anything malformed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given

from dbsnap.exceptions import ManifestError
from dbsnap.manifest import Snapshot
from tests.strategies import snapshots

GOOD = {
    "format": "dbsnap/1",
    "name": "app-20260101T000000Z.sqlite.zst",
    "database": "app",
    "driver": "sqlite",
    "created_at": "2026-01-01T00:00:00Z",
    "size": 12,
    "sha256": "0" * 64,
    "codec": "zstd",
    "driver_info": {"format": "sqlite3"},
    "dbsnap_version": "0.1.0",
}


@given(snapshots)
def test_json_round_trip(snap: Snapshot) -> None:
    again = Snapshot.from_json(snap.to_json())
    assert again == snap
    assert again.driver_info == snap.driver_info
    assert again.created_at.tzinfo is not None


def test_manifest_has_the_documented_keys() -> None:
    snap = Snapshot.from_manifest(GOOD)
    assert set(json.loads(snap.to_json())) == {*GOOD, "checksum"}
    assert snap.created_at == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"format": "dbsnap/2"}, "format"),
        ({"name": "../../etc/passwd"}, "invalid payload"),
        ({"name": "/abs/path"}, "invalid payload"),
        ({"size": -1}, "size"),
        ({"size": "12"}, "size"),
        ({"sha256": "xyz"}, "sha256"),
        ({"created_at": "yesterday"}, "created_at"),
        ({"created_at": "2026-01-01T00:00:00"}, "created_at"),
        ({"driver_info": []}, "driver_info"),
        ({"driver": 3}, "driver"),
    ],
)
def test_malformed_manifests_are_refused(change: dict[str, object], words: str) -> None:
    with pytest.raises(ManifestError, match=words):
        Snapshot.from_manifest({**GOOD, **change})


def test_missing_keys_are_named() -> None:
    data = dict(GOOD)
    del data["sha256"]
    with pytest.raises(ManifestError, match="sha256"):
        Snapshot.from_manifest(data)


@pytest.mark.parametrize("text", ["", "{", "[]", "null", "\xff"])
def test_not_json_is_refused(text: str) -> None:
    with pytest.raises(ManifestError):
        Snapshot.from_json(text)


def test_a_manifest_for_another_name_is_refused() -> None:
    with pytest.raises(ManifestError, match="names another payload"):
        Snapshot.from_json(Snapshot.from_manifest(GOOD).to_json(), expected_name="other.sqlite.zst")


def test_any_changed_byte_of_a_manifest_is_refused() -> None:
    text = Snapshot.from_manifest(GOOD).to_json()
    for index in range(len(text)):
        for changed in (text[:index] + chr(ord(text[index]) ^ 0x29) + text[index + 1 :], text[:index]):
            with pytest.raises(ManifestError):
                Snapshot.from_json(changed)


def test_an_edited_value_with_valid_json_is_refused() -> None:
    record = json.loads(Snapshot.from_manifest(GOOD).to_json())
    record["database"] = "other"
    edited = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with pytest.raises(ManifestError, match="checksum"):
        Snapshot.from_json(edited)
