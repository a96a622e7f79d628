"""The SQLite benchmark database: text rows and 20 kB blobs, half of them random (incompressible)."""

from __future__ import annotations

import os
import random
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build(path: Path, megabytes: int) -> None:
    """Fill a new SQLite database at `path` until it is about `megabytes` MB."""
    rng = random.Random(1)
    words = ["order", "invoice", "customer", "garage", "brake", "tyre", "oil", "filter", "Zürich", "Kraków"]
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, data BLOB)")
    target = megabytes * 1_000_000
    while path.stat().st_size < target:
        conn.executemany(
            "INSERT INTO notes (body) VALUES (?)",
            ((" ".join(rng.choice(words) for _ in range(60)),) for _ in range(5000)),
        )
        conn.executemany(
            "INSERT INTO files (data) VALUES (?)",
            ((os.urandom(20_000) if i % 2 else bytes(20_000),) for i in range(100)),
        )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
