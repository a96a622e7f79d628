"""The quick-start demo: snapshot a sample SQLite database into ./backups, list, verify, restore."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

HERE = Path.cwd()
SAMPLE = HERE / "build" / "demo" / "shop.db"


def make_sample(path: Path) -> None:
    """Create a small shop database (customers and orders) if it is not there yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT)")
    conn.execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers, "
        "total_cents INTEGER)"
    )
    cities = ["Zürich", "Kraków", "São Paulo", "Reykjavík", "Osaka"]
    conn.executemany(
        "INSERT INTO customers (name, city) VALUES (?, ?)",
        ((f"Customer {i}", cities[i % len(cities)]) for i in range(2000)),
    )
    conn.executemany(
        "INSERT INTO orders (customer_id, total_cents) VALUES (?, ?)",
        ((1 + i % 2000, (i * 7919) % 100000) for i in range(20000)),
    )
    conn.commit()
    conn.close()


def count_orders(path: Path) -> int:
    """Return the number of orders, to show the restore brought them back."""
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT count(*) FROM orders").fetchone()[0])
    finally:
        conn.close()


def dbsnap(*args: str) -> None:
    """Run one dbsnap command the way a user would, echoing it first."""
    print(f"\n$ dbsnap {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "dbsnap", *args], check=True, env={**os.environ})


def main() -> int:
    """Run the demo; exit non-zero if any step fails."""
    make_sample(SAMPLE)
    url = f"sqlite:///{SAMPLE.relative_to(HERE)}"
    print(f"sample database {SAMPLE.relative_to(HERE)}: {count_orders(SAMPLE)} orders")
    dbsnap("snapshot", url, "--store", "./backups")
    dbsnap("list", "--store", "./backups")
    dbsnap("verify", "--all", "--store", "./backups")
    conn = sqlite3.connect(SAMPLE)
    conn.execute("DELETE FROM orders WHERE id % 2 = 0")
    conn.commit()
    conn.close()
    print(f"\n(an accident deletes half the orders: {count_orders(SAMPLE)} left)")
    dbsnap("restore", "--latest", url, "--store", "./backups", "--yes")
    restored = count_orders(SAMPLE)
    print(f"after the restore: {restored} orders")
    return 0 if restored == 20000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
