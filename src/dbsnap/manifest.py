"""Snapshot: the manifest record of one stored snapshot, and its JSON form."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import attrs

from dbsnap.exceptions import InvalidNameError, ManifestError
from dbsnap.names import validate_name

FORMAT = "dbsnap/1"
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _checksum(data: dict[str, Any]) -> str:
    compact = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(compact.encode()).hexdigest()


def _as_strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return value.astimezone(UTC)


@attrs.frozen(kw_only=True)
class Snapshot:
    """One snapshot as its manifest describes it.

    Attributes:
        name: The payload's object name in the store; the manifest is `name + ".manifest.json"`.
        database: A label for the database (SQLite file stem, PostgreSQL database name, or --label).
        driver: The driver that made the payload (``sqlite``, ``postgresql``...).
        created_at: When the dump started, timezone-aware, kept in UTC.
        size: Number of stored bytes.
        sha256: Hex SHA-256 of the stored bytes.
        codec: How the driver's output was encoded before storing (``zstd``, ``gzip``, ``none``).
        driver_info: Facts from the driver (server version, dump format...). Never holds secrets.
        dbsnap_version: The dbsnap version that wrote the snapshot.
        format: The manifest format, ``dbsnap/1``.
        source: Where the database is, as its driver identifies it (SQLite: host and resolved
            path; PostgreSQL: host, port and database name); never a password. Empty in manifests
            written before dbsnap recorded it.
        recipients: The public keys an encrypted payload (codec ``...+age``) was encrypted to;
            never an identity.
        duration: Seconds the dump took (None in manifests that do not record it).
        store: Where this snapshot was listed from (a redacted URL); not part of the manifest.
    """

    name: str = attrs.field(validator=lambda _i, _a, v: validate_name(v))
    database: str
    driver: str
    created_at: datetime = attrs.field(converter=_utc)
    size: int
    sha256: str
    codec: str
    driver_info: dict[str, Any] = attrs.field(factory=dict, hash=False)
    dbsnap_version: str = ""
    format: str = FORMAT
    source: dict[str, Any] = attrs.field(factory=dict, hash=False)
    recipients: tuple[str, ...] = attrs.field(default=(), converter=_as_strings)
    duration: float | None = None
    store: str = attrs.field(default="", eq=False)

    @property
    def encrypted(self) -> bool:
        """Whether the payload is encrypted (an ``age`` stage in its codec chain)."""
        return "age" in self.codec.split("+")

    @property
    def identity(self) -> str:
        """The database this is a snapshot of: its recorded source, else (older manifests) its label."""
        return identity(self.driver, self.source, self.database)

    def to_manifest(self) -> dict[str, Any]:
        """Return the manifest as a JSON-ready dict (without the listing-only `store`)."""
        return {
            "format": self.format,
            "name": self.name,
            "database": self.database,
            "driver": self.driver,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "size": self.size,
            "sha256": self.sha256,
            "codec": self.codec,
            "driver_info": self.driver_info,
            "dbsnap_version": self.dbsnap_version,
            **({"source": self.source} if self.source else {}),
            **({"recipients": list(self.recipients)} if self.recipients else {}),
            **({"duration": self.duration} if self.duration is not None else {}),
        }

    def to_json(self) -> str:
        """Serialise the manifest as indented, key-sorted JSON with its own checksum."""
        body = self.to_manifest()
        body["checksum"] = _checksum(body)
        return _canonical(body)

    @classmethod
    def from_json(cls, text: str | bytes, *, expected_name: str | None = None) -> Snapshot:
        """Parse manifest JSON, checking its form, its checksum and every field.

        Any changed byte is refused: the text must be exactly what dbsnap writes for its content,
        and the content must match its checksum. This detects corruption and careless edits; it is
        not a signature (whoever can write the store can write a consistent manifest).
        """
        try:
            raw = text.decode("utf-8") if isinstance(text, bytes) else text
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ManifestError(f"manifest is not valid JSON ({exc})") from None
        except RecursionError:
            raise ManifestError("manifest is nested too deeply to be one dbsnap wrote") from None
        if not isinstance(data, dict):
            raise ManifestError("manifest is not a JSON object")
        if raw != _canonical(data):
            raise ManifestError("manifest was modified: its text is not what dbsnap wrote for its content")
        checksum = data.pop("checksum", None)
        if checksum != _checksum(data):
            raise ManifestError("manifest checksum does not match its content: it was modified or corrupted")
        return cls.from_manifest(data, expected_name=expected_name)

    @classmethod
    def from_manifest(cls, data: dict[str, Any], *, expected_name: str | None = None) -> Snapshot:
        """Build a Snapshot from a manifest dict, checking every field."""
        fmt = data.get("format")
        if not isinstance(fmt, str) or fmt.split(".")[0] != FORMAT:
            raise ManifestError(f"manifest format {fmt!r} is not {FORMAT!r}; upgrade dbsnap")
        strings = ("name", "database", "driver", "created_at", "sha256", "codec")
        for key in (*strings, "dbsnap_version"):
            if not isinstance(data.get(key, ""), str):
                raise ManifestError(f"manifest field {key!r} must be a string")
        missing = [key for key in (*strings, "size") if key not in data]
        if missing:
            raise ManifestError(f"manifest lacks {', '.join(missing)}")
        name = data["name"]
        try:
            validate_name(name)
        except InvalidNameError as exc:
            raise ManifestError(f"manifest names an invalid payload: {exc}") from None
        if expected_name is not None and name != expected_name:
            raise ManifestError(
                f"manifest for {expected_name!r} names another payload {name!r}; "
                "it was renamed or tampered with"
            )
        size = data["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError("manifest field 'size' must be a non-negative integer")
        if _SHA256.fullmatch(data["sha256"]) is None:
            raise ManifestError("manifest field 'sha256' must be 64 lowercase hex digits")
        info = data.get("driver_info", {})
        if not isinstance(info, dict):
            raise ManifestError("manifest field 'driver_info' must be an object")
        source = data.get("source", {})
        if not isinstance(source, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int) and not isinstance(v, bool)
            for k, v in source.items()
        ):
            raise ManifestError("manifest field 'source' must be an object of strings and numbers")
        recipients = data.get("recipients", [])
        if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
            raise ManifestError("manifest field 'recipients' must be a list of strings")
        duration = data.get("duration")
        if duration is not None and (
            not isinstance(duration, int | float) or isinstance(duration, bool) or duration < 0
        ):
            raise ManifestError("manifest field 'duration' must be a non-negative number of seconds")
        try:
            created = datetime.fromisoformat(data["created_at"].replace("Z", "+00:00"))
            if created.tzinfo is None:
                raise ValueError("no timezone")
        except ValueError:
            raise ManifestError(
                f"manifest field 'created_at' {data['created_at']!r} is not an ISO 8601 UTC time"
            ) from None
        return cls(
            name=name,
            database=data["database"],
            driver=data["driver"],
            created_at=created,
            size=size,
            sha256=data["sha256"],
            codec=data["codec"],
            driver_info=info,
            dbsnap_version=data.get("dbsnap_version", ""),
            format=fmt,
            source=source,
            recipients=tuple(recipients),
            duration=float(duration) if duration is not None else None,
        )


def identity(driver: str, source: dict[str, Any], label: str) -> str:
    """Return the key that tells databases apart: driver and source, or the label when none is known."""
    if not source:
        return f"label:{label}"
    return f"{driver}:" + json.dumps(source, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def describe_source(source: dict[str, Any]) -> str:
    """Say where a database is, for people (``/srv/app/db.sqlite3 on web1``, ``shop on db:5432``)."""
    if "path" in source:
        return f"{source['path']} on {source.get('host', '?')}"
    if "dbname" in source:
        return f"{source['dbname']} on {source.get('host', '?')}:{source.get('port', '?')}"
    return ", ".join(f"{k}={v}" for k, v in sorted(source.items())) or "unknown"
