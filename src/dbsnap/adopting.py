"""adopt(): give the original backup system's files a manifest, in place, so dbsnap restores them.

The original system wrote ``backup_YYYYMMDD_HHMMSS.sql`` (plain SQL) or a ``pg_dump`` custom archive,
with no checksum and no record of the database. Adopting one hashes it as it is now (damage done
before cannot be detected; damage after can), dates it by its name (the local time of this machine,
as the original system named its files) or else its modification time, and records it as a snapshot
of the database given: it is restored only into that database, like any snapshot.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dbsnap import __version__
from dbsnap.context import Context
from dbsnap.drivers.base import source_of
from dbsnap.drivers.pgplain import MAGIC as PG_MAGIC
from dbsnap.drivers.sqlitefile import MAGIC as SQLITE_MAGIC
from dbsnap.exceptions import ConfigError, SnapshotNotFound
from dbsnap.manifest import Snapshot
from dbsnap.names import validate_name
from dbsnap.resolve import open_driver, open_store
from dbsnap.streams import sha256_of

log = logging.getLogger("dbsnap")
ORIGINAL = re.compile(r"backup_(\d{8})_(\d{6})\..+")


def originals(folder: str) -> list[Path]:
    """The original system's backups in `folder` that have no manifest yet, newest first."""
    root = Path(folder)
    if not root.is_dir():
        return []
    found = [
        p for p in root.iterdir()
        if ORIGINAL.fullmatch(p.name) and p.is_file() and not p.name.endswith(".json")
        and not (root / f"{p.name}.manifest.json").exists()
    ]  # fmt: skip
    return sorted(found, key=lambda p: p.name, reverse=True)


def _format(path: Path) -> tuple[str, str]:
    """(driver, format) of a backup file, from its first bytes."""
    with open(path, "rb") as raw:
        head = raw.read(len(SQLITE_MAGIC))
    if head.startswith(PG_MAGIC):
        return "postgresql", "custom"
    if head == SQLITE_MAGIC:
        return "sqlite", "file"
    return "", "plain"


def _created(path: Path) -> datetime:
    match = ORIGINAL.fullmatch(path.name)
    if match:
        try:
            return datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S").astimezone(UTC)
        except ValueError:
            pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def adopt(
    files: list[str],
    database: str | None = None,
    *,
    label: str | None = None,
    config: Any = None,
    plugins: Any = None,
) -> list[Snapshot]:
    """Write a manifest beside each file, making it a snapshot of `database`; return the snapshots.

    A file that already has a manifest is returned as it is. Raises ConfigError for a file whose
    format does not fit the database's driver (a pg_dump archive for a SQLite database).
    """
    ctx = Context.of(config, plugins)
    url = database or ctx.config.database
    if not url:
        raise ConfigError(
            "adopt needs the DATABASE the backups are of (--database URL or DBSNAP_DATABASE_URL)"
        )
    driver = open_driver(url, ctx.plugins)
    source = source_of(driver)
    adopted: list[Snapshot] = []
    for item in files:
        path = Path(item)
        if not path.is_file():
            raise SnapshotNotFound(f"{item} is not a file; give the original backups' paths")
        validate_name(path.name)
        store = open_store(str(path.parent.resolve()), ctx.plugins)
        if store.has(f"{path.name}.manifest.json"):
            adopted.append(store.get(path.name))
            continue
        kind, fmt = _format(path)
        if kind and kind != driver.name:
            raise ConfigError(f"{item} is a {kind} backup and cannot be adopted for a {driver.name} database")
        with open(path, "rb") as raw:
            digest, size = sha256_of(raw)
        snap = Snapshot(
            name=path.name,
            database=label or driver.label(),
            driver=driver.name,
            created_at=_created(path),
            size=size,
            sha256=digest,
            codec="none",
            driver_info={"format": fmt, "adopted": datetime.now(UTC).isoformat().replace("+00:00", "Z")},
            dbsnap_version=__version__,
            source=source,
        )
        os.chmod(path, 0o600)
        store.add_manifest(snap, secrets.token_hex(6))
        log.info("Database backup: adopted %s as a snapshot of %s", path.name, snap.database)
        adopted.append(store.get(path.name))
    return adopted
