"""MySQL/MariaDB rows: snapshot and restore against the client tools alone, on the machine's MariaDB."""

from __future__ import annotations

import os
import subprocess
from typing import Any

from benchmarks.common import dbsnap, run_command
from benchmarks.quick import run_with

HOST, PORT = "127.0.0.1", 3306
CLIENT = ["--host", HOST, "--port", str(PORT), "--user", "root", "--default-character-set=utf8mb4"]


def _sql(statements: str, database: str = "") -> None:
    subprocess.run(
        ["mariadb", *CLIENT, *([database] if database else [])],
        input=statements.encode(),
        stdout=subprocess.DEVNULL,
        check=True,
    )


def build(name: str, rows: int) -> str:
    """A database of two InnoDB tables (`rows` orders, a tenth as many customers); return its size."""
    _sql(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` CHARACTER SET utf8mb4;")
    _sql(
        "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(80), email VARCHAR(120));"
        "CREATE TABLE orders (id INT PRIMARY KEY, customer INT, total DECIMAL(10,2), note TEXT, "
        "  placed DATETIME, KEY (customer));"
        f"INSERT INTO customers SELECT seq, CONCAT('customer ', seq), CONCAT('c', seq, '@example.org') "
        f"  FROM seq_1_to_{max(rows // 10, 1)};"
        f"INSERT INTO orders SELECT seq, seq % {max(rows // 10, 1)} + 1, (seq % 9973) / 7, "
        f"  REPEAT(MD5(seq), 3), '2026-01-01' + INTERVAL (seq % 300000) MINUTE FROM seq_1_to_{rows};",
        name,
    )
    _sql("ANALYZE TABLE customers, orders;", name)  # InnoDB sizes lag behind fresh inserts otherwise
    query = (
        f"SELECT SUM(data_length + index_length) FROM information_schema.TABLES WHERE table_schema = '{name}'"
    )
    out = subprocess.run(
        ["mariadb", *CLIENT, "--batch", "--skip-column-names", "-e", query],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return f"{int(out.strip()) / 1e6:,.0f} MB"


def mysql_rows(bench: Any, rows: int) -> None:
    """Snapshot / `mariadb-dump --single-transaction | zstd`; restore / `zstd -dc | mariadb DB`."""
    name = f"bench_my_{rows}"
    size = build(name, rows)
    url = f"mysql://root@{HOST}:{PORT}/{name}"
    store, bare = bench.work / f"my-{rows}", bench.work / f"my-{rows}.sql.zst"
    env = {**os.environ}
    at = f"MySQL {size}: "
    client = " ".join(CLIENT)
    # The baselines are shell pipelines, as a user's cron job would be; their peak RSS is the shell's,
    # as dbsnap's is its own (the dump tool under either is not counted).
    dump = ["sh", "-c", f"mariadb-dump {client} --single-transaction --routines --events --triggers {name} "
            f"| zstd -q -3 -T0 -f -o {bare}"]  # fmt: skip
    load = ["sh", "-c", f"zstd -q -dc {bare} | mariadb {client} {name}"]
    bench.measure(
        f"{at}snapshot (zstd) / `mariadb-dump --single-transaction | zstd`",
        run_with(dbsnap("snapshot", url, "--store", str(store)), env),
        run_with(dump, env),
    )
    if not bare.exists():
        run_command(dump, env)
    if not store.exists():
        run_command(dbsnap("snapshot", url, "--store", str(store)), env)
    payload = sorted(p.name for p in store.iterdir() if not p.name.endswith(".json"))[0]
    bench.measure(
        f"{at}restore (staging + RENAME swap) / `zstd -dc | mariadb DB`",
        run_with(dbsnap("restore", payload, url, "--store", str(store), "--yes"), env),
        run_with(load, env),
    )
    bench.notes.append(
        f"MySQL {size} ({rows:,} orders): `mariadb-dump | zstd -3` {bare.stat().st_size / 1e6:.1f} MB, "
        f"dbsnap zstd {(store / payload).stat().st_size / 1e6:.1f} MB."
    )
    _sql(f"DROP DATABASE IF EXISTS `{name}`;")
