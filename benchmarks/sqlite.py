"""SQLite: dbsnap snapshot/restore against `sqlite3 .backup` + `zstd -3` and `zstd -d` + `.restore`.

Run from the repository root: python benchmarks/sqlite.py [--megabytes 500] [--pairs 3]
The database mixes text rows and blobs (half of them compressible).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import HEADER, Run, pairs, run_command


def build(path: Path, megabytes: int) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--megabytes", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dbsnap-bench-sqlite-"))
    try:
        db = work / "app.db"
        build(db, args.megabytes)
        size = f"{db.stat().st_size / 1e6:.0f} MB"
        store = work / "store"
        counter = [0]

        def ours_snapshot() -> Run:
            counter[0] += 1
            return run_command(
                [
                    sys.executable,
                    "-m",
                    "dbsnap",
                    "snapshot",
                    f"sqlite:///{db}",
                    "--store",
                    str(store),
                    "--name",
                    f"s{counter[0]}.sqlite.zst",
                ]
            )

        def bare_snapshot() -> float:
            copy = work / "bare.db"
            copy.unlink(missing_ok=True)
            (work / "bare.db.zst").unlink(missing_ok=True)
            first = run_command(["sqlite3", str(db), f".backup {copy}"])
            second = run_command(["zstd", "-q", "-3", "-T0", str(copy), "-o", str(work / "bare.db.zst")])
            return first.seconds + second.seconds

        snap = pairs(f"SQLite snapshot ({size})", ours_snapshot, bare_snapshot, args.pairs)
        target = work / "target.db"
        shutil.copy(db, target)

        def ours_restore() -> Run:
            return run_command(
                [
                    sys.executable,
                    "-m",
                    "dbsnap",
                    "restore",
                    "s1.sqlite.zst",
                    f"sqlite:///{target}",
                    "--store",
                    str(store),
                    "--yes",
                ]
            )

        def bare_restore() -> float:
            plain = work / "restore.db"
            plain.unlink(missing_ok=True)
            first = run_command(["zstd", "-q", "-d", str(work / "bare.db.zst"), "-o", str(plain)])
            second = run_command(["sqlite3", str(target), f".restore {plain}"])
            return first.seconds + second.seconds

        restore = pairs(f"SQLite restore ({size})", ours_restore, bare_restore, args.pairs)
        print(HEADER)
        print(snap.row())
        print(restore.row())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
