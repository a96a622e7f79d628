"""The MySQL/MariaDB driver on the MariaDB server: a realistic corpus, the conformance kit, and kills."""

from __future__ import annotations

import os
import random
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zstandard

import dbsnap
from dbsnap.drivers.mysqlconn import MyTarget
from dbsnap.drivers.mysqlswap import recover
from dbsnap.exceptions import DbsnapError
from dbsnap.faults import MYSQL_POINTS
from dbsnap.testing.driverkit import DriverKit
from tests.conftest import cli_env
from tests.mysqlserver import PASSWORD, MariaDB, dump_text, sql, unique
from tests.test_postgres import _forge

CORPUS = """
CREATE TABLE customers (
  id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(100) NOT NULL, email VARCHAR(200) UNIQUE,
  bio TEXT, doc JSON, avatar BLOB, name_upper VARCHAR(100) GENERATED ALWAYS AS (UPPER(name)) VIRTUAL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE orders (
  id BIGINT PRIMARY KEY AUTO_INCREMENT, customer_id INT NOT NULL, cents INT NOT NULL,
  created DATETIME(6) NOT NULL, total_euros DECIMAL(12, 2) AS (cents / 100) STORED,
  FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE, KEY by_created (created)
) ENGINE=InnoDB;
CREATE TABLE audit (id BIGINT PRIMARY KEY AUTO_INCREMENT, what VARCHAR(200)) ENGINE=InnoDB;
CREATE TABLE events_log (id BIGINT PRIMARY KEY AUTO_INCREMENT, line TEXT) ENGINE=InnoDB;
INSERT INTO customers (name, email, bio, doc, avatar)
  SELECT CONCAT('client ', seq, ' 😀 ü'), CONCAT('c', seq, '@example.com'), REPEAT('bio ', seq % 7),
         JSON_OBJECT('n', seq, 'tags', JSON_ARRAY('a', 'ü')), UNHEX(MD5(seq))
  FROM seq_1_to_2000;
INSERT INTO orders (customer_id, cents, created)
  SELECT 1 + seq % 2000, seq * 7 % 100000, '2026-01-01' + INTERVAL seq SECOND FROM seq_1_to_120000;
INSERT INTO events_log (line) SELECT CONCAT('event ', seq, ' ', MD5(seq)) FROM seq_1_to_110000;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW
  INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id));
CREATE VIEW big_spenders AS
  SELECT c.id, c.name, SUM(o.cents) AS cents FROM customers c JOIN orders o ON o.customer_id = c.id
  GROUP BY c.id, c.name HAVING SUM(o.cents) > 5000000;
CREATE VIEW top_big_spenders AS SELECT * FROM big_spenders ORDER BY cents DESC LIMIT 10;
DELIMITER ;;
CREATE PROCEDURE place_order(IN who INT, IN amount INT)
BEGIN
  INSERT INTO orders (customer_id, cents, created) VALUES (who, amount, NOW(6));
END;;
CREATE FUNCTION euros(cents INT) RETURNS DECIMAL(12, 2) DETERMINISTIC RETURN cents / 100;;
DELIMITER ;
CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
  DO DELETE FROM audit WHERE id < 0;
"""


def build_corpus(database: str) -> None:
    """The corpus: FKs, triggers, views on views, routines, an event, generated columns, JSON, BLOBs."""
    sql(CORPUS, database)


@pytest.fixture
def corpus(mariadb: MariaDB) -> str:
    name = unique("corpus")
    mariadb.createdb(name)
    build_corpus(name)
    return name


def _migrate(database: str) -> None:
    """What happens to a live database after a snapshot: rows, a new table, a changed one, objects gone."""
    sql(
        "INSERT INTO orders (customer_id, cents, created) VALUES (1, 1, NOW());"
        f"CREATE TABLE since_{secrets.token_hex(3)} (x INT);"
        "ALTER TABLE customers ADD COLUMN IF NOT EXISTS phone VARCHAR(30);"
        "DROP VIEW IF EXISTS top_big_spenders; DROP TRIGGER IF EXISTS orders_audit;"
        "DROP EVENT IF EXISTS purge_audit;",
        database,
    )


def test_the_corpus_round_trips_over_a_migrated_target_and_into_an_empty_one(
    mariadb: MariaDB, corpus: str, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    before = dump_text(corpus)
    snap = dbsnap.snapshot(mariadb.root_url(corpus), store)
    assert snap.driver == "mysql" and snap.name.endswith(".sql.zst")
    _migrate(corpus)
    dbsnap.restore(snap.name, mariadb.root_url(corpus), store)
    assert dump_text(corpus) == before
    empty = unique("empty")
    mariadb.createdb(empty)
    dbsnap.restore(snap.name, mariadb.root_url(empty), store)
    assert dump_text(empty) == before
    assert mariadb.staging(corpus) == mariadb.staging(empty) == []


def test_the_payload_restores_with_nothing_but_zstd_and_the_client(
    mariadb: MariaDB, corpus: str, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    snap = dbsnap.snapshot(mariadb.root_url(corpus), str(store))
    plain = unique("plain")
    mariadb.createdb(plain)
    subprocess.run(
        f"zstd -q -d -c {store / snap.name} | "
        f"mariadb -h127.0.0.1 -uroot --default-character-set=utf8mb4 {plain}",
        shell=True, check=True, capture_output=True,
    )  # fmt: skip
    assert dump_text(plain) == dump_text(corpus)


def test_verify_restore_and_drills_use_a_scratch_database(
    mariadb: MariaDB, corpus: str, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(mariadb.root_url(corpus), store)
    checked = dbsnap.verify(snap.name, store, restore_into=mariadb.root_url(corpus))
    assert checked.checks["restore"]["tables"]["orders"] == 120_000
    record = dbsnap.drill(
        mariadb.root_url(corpus), store, expect=[("select count(*) from customers", "=2000")]
    )
    assert record["ok"] is True
    assert not [n for n in mariadb.databases() if n.startswith("dbsnap_verify_")]


def test_a_restore_that_fails_half_way_leaves_the_database_as_it_was(
    mariadb: MariaDB, corpus: str, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    snap = dbsnap.snapshot(mariadb.root_url(corpus), str(store))
    _migrate(corpus)
    before = dump_text(corpus)
    # A snapshot cut at 60% (its checksum forged to match): the load into staging fails, not the live data.
    payload = store / snap.name
    text = zstandard.ZstdDecompressor().decompress(payload.read_bytes(), max_output_size=1 << 30)
    _forge(store, snap.name, zstandard.ZstdCompressor().compress(text[: len(text) * 6 // 10]))
    with pytest.raises(DbsnapError, match="left as it was"):
        dbsnap.restore(snap.name, mariadb.root_url(corpus), str(store))
    assert dump_text(corpus) == before
    assert mariadb.staging(corpus) == []


def test_thirty_restores_killed_at_random_points_leave_the_database_as_it_was(
    mariadb: MariaDB, corpus: str, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    url = mariadb.root_url(corpus)
    snap = dbsnap.snapshot(url, store)
    restored = dump_text(corpus)
    argv = [sys.executable, "-m", "dbsnap", "restore", snap.name, url, "--store", store, "--yes"]
    _migrate(corpus)
    started = time.monotonic()
    subprocess.run(argv, env=cli_env({}), check=True, capture_output=True, timeout=600)
    whole = time.monotonic() - started
    rng = random.Random(7)
    outcomes = {"untouched": 0, "restored": 0, "mid-swap, rolled back by the next run": 0}
    scratch = tmp_path / "scratch"  # where the killed runs' 0600 option files (credentials) go
    scratch.mkdir()
    env = cli_env({"DBSNAP_TMPDIR": str(scratch)})
    for _ in range(30):
        _migrate(corpus)
        before = dump_text(corpus)
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, whole))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        after = dump_text(corpus)
        if after in (before, restored):
            outcomes["untouched" if after == before else "restored"] += 1
            continue
        # Killed inside the swap's window: any next run on the database rolls it back first.
        recover(MyTarget(url))
        assert dump_text(corpus) == before, "a restore killed in the swap was not rolled back"
        outcomes["mid-swap, rolled back by the next run"] += 1
    print(outcomes)
    recover(MyTarget(url))  # what the next run does: drop the staging databases the kills left
    assert mariadb.staging(corpus) == []
    # Option files the kills left (a client runs through most of a restore) are swept by the next run
    # once their grace minute is over.
    killed_left = list(scratch.iterdir())
    assert killed_left, "no kill left an option file: the test no longer sees where they go"
    for left in killed_left:
        os.utime(left, (time.time() - 120, time.time() - 120))
    subprocess.run(
        [sys.executable, "-m", "dbsnap", "snapshot", url, "--store", str(tmp_path / "next")],
        env=env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    assert sorted(p.name for p in scratch.iterdir()) == []


class TestMysqlDriver(DriverKit):
    """The conformance kit, as a user whose password holds every character URLs dislike."""

    secret = PASSWORD
    NEXT_RUN_RECOVERS = True  # a kill inside the swap is rolled back by the next run (docs/mysql.md)

    @pytest.fixture
    def source(self, mariadb: MariaDB) -> str:
        name = unique("kit_source")
        url = mariadb.createdb(name)
        sql(
            "CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(50));"
            "INSERT INTO t (v) SELECT CONCAT('row ', seq, ' 😀') FROM seq_1_to_30000;"
            "CREATE VIEW v AS SELECT COUNT(*) AS n FROM t;",
            name,
        )
        return url

    @pytest.fixture
    def target(self, mariadb: MariaDB) -> str:
        return mariadb.createdb(unique("kit_target"))

    def content(self, url: str) -> str:
        return dump_text(url.rsplit("/", 1)[1])

    def change(self, url: str) -> None:
        sql(f"CREATE TABLE changed_{secrets.token_hex(3)} (x INT); INSERT INTO t (v) VALUES ('new');",
            url.rsplit("/", 1)[1])  # fmt: skip


@pytest.mark.parametrize("point", MYSQL_POINTS)
def test_a_restore_killed_inside_the_swap_is_rolled_back_by_the_next_run(
    mariadb: MariaDB, corpus: str, tmp_path: Path, point: str
) -> None:
    store = str(tmp_path / "store")
    url = mariadb.root_url(corpus)
    snap = dbsnap.snapshot(url, store)
    _migrate(corpus)
    before = dump_text(corpus)
    killed = subprocess.run(
        [sys.executable, "-m", "dbsnap", "restore", snap.name, url, "--store", store, "--yes"],
        env=cli_env({"DBSNAP_TEST_KILL_AT": point}), capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    assert killed.returncode == -9
    assert dump_text(corpus) != before  # really killed mid-swap
    # The next run on this database, whatever it is, rolls the swap back before anything else.
    dbsnap.snapshot(url, str(tmp_path / "after"))
    assert dump_text(corpus) == before
    assert mariadb.staging(corpus) == []
    assert dbsnap.list_snapshots(str(tmp_path / "after"))[0].driver == "mysql"


def test_a_journal_without_its_row_means_the_swap_never_began(mariadb: MariaDB, corpus: str) -> None:
    """Killed between creating the journal and filling it: the next run drops the leftovers only."""
    before = dump_text(corpus)
    old, new = f"{corpus}__dbsnap_0123abcd_old", f"{corpus}__dbsnap_0123abcd_new"
    sql(f"CREATE DATABASE `{old}`; CREATE DATABASE `{new}`; "
        f"CREATE TABLE `{old}`.dbsnap_restore_journal (staged_tables INT, objects LONGBLOB);"
        f"CREATE TABLE `{new}`.staged (x INT);")  # fmt: skip
    recover(MyTarget(mariadb.root_url(corpus)))
    assert mariadb.staging(corpus) == []
    assert dump_text(corpus) == before


def test_a_restore_killed_after_it_settled_is_kept_by_the_next_run(
    mariadb: MariaDB, corpus: str, tmp_path: Path
) -> None:
    """Killed after the swap finished (only cleanup left): the next run keeps the restored database,
    with whatever was written to it since, and only drops the leftovers."""
    store = str(tmp_path / "store")
    url = mariadb.root_url(corpus)
    snap = dbsnap.snapshot(url, store)
    restored = dump_text(corpus)
    _migrate(corpus)
    killed = subprocess.run(
        [sys.executable, "-m", "dbsnap", "restore", snap.name, url, "--store", store, "--yes"],
        env=cli_env({"DBSNAP_TEST_KILL_AT": "mysql-settled"}), capture_output=True, timeout=600, check=False,
    )  # fmt: skip
    assert killed.returncode == -9
    assert dump_text(corpus) == restored
    assert mariadb.staging(corpus) != []  # the kill left its saved copy behind
    sql("INSERT INTO orders (customer_id, cents, created) VALUES (1, 7, NOW());", corpus)  # life goes on
    written = dump_text(corpus)
    dbsnap.snapshot(url, str(tmp_path / "after"))  # the next run
    assert dump_text(corpus) == written
    assert mariadb.staging(corpus) == []
