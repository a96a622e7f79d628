"""The original system's users: its backups in BACKUP_DIR listed and restored, its settings honoured."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.pgserver import PASSWORD as PG_PASSWORD
from tests.pgserver import USER as PG_USER
from tests.pgserver import Cluster
from tests.test_django import add_users, manage, migrated_pg_project, users


@pytest.fixture
def pg_project(pg: Cluster, tmp_path: Path) -> dict[str, str]:
    return migrated_pg_project(pg, tmp_path, "shop_original", "original", 12)


def _pg_dump(pg: Cluster, out: Path, *flags: str) -> None:
    """What the original system ran: pg_dump, plain (.sql) or custom format, into BACKUP_DIR."""
    out.parent.mkdir(exist_ok=True)
    subprocess.run(
        [
            "pg_dump",
            *flags,
            "-f",
            str(out),
            f"host=127.0.0.1 port={pg.port} user={PG_USER} dbname=shop_original",
        ],
        env={"PGPASSWORD": PG_PASSWORD, "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize(
    ("name", "flags"),
    [("backup_20250101_030000.sql", ()), ("backup_20250102_030000.dump", ("--format=custom",))],
)
def test_original_postgres_backups_are_listed_and_restored(
    pg: Cluster, pg_project: dict[str, str], tmp_path: Path, name: str, flags: tuple[str, ...]
) -> None:
    env = pg_project
    before = users(env)
    _pg_dump(pg, tmp_path / "backups" / name, *flags)
    listing = manage(env, "restore_backup", "--list")
    assert listing.returncode == 0, listing.stderr
    assert name in listing.stdout and "local (original)" in listing.stdout
    add_users(env, "after", 3)
    restored = manage(env, "restore_backup", name, "--noinput")
    assert restored.returncode == 0, restored.stderr
    assert users(env) == before
    # Adopted: now an ordinary snapshot, with a manifest, restorable again and verifiable.
    assert (tmp_path / "backups" / f"{name}.manifest.json").exists()
    again = manage(env, "restore_backup", "--list")
    assert name in again.stdout and "local (original)" not in again.stdout


@pytest.mark.parametrize("kind", ["sql", "copy"])
def test_original_sqlite_backups_are_restored(tmp_path: Path, kind: str) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "shopproject.settings_sqlite",
        "SHOP_SQLITE": str(tmp_path / "shop.sqlite3"),
        "SHOP_BACKUP_DIR": str(tmp_path / "backups"),
    }
    assert manage(env, "migrate", "-v", "0").returncode == 0
    add_users(env, "customer", 7)
    before = users(env)
    backups = tmp_path / "backups"
    backups.mkdir()
    name = f"backup_20250103_030000.{'sql' if kind == 'sql' else 'sqlite3'}"
    with sqlite3.connect(tmp_path / "shop.sqlite3") as conn:
        if kind == "sql":
            (backups / name).write_text("\n".join(conn.iterdump()) + "\n")
        else:
            with sqlite3.connect(backups / name) as copy:
                conn.backup(copy)
    add_users(env, "later", 2)
    restored = manage(env, "restore_backup", name, "--noinput")
    assert restored.returncode == 0, restored.stderr
    assert users(env) == before


def test_stdin_at_eof_at_the_prompt_answers_no(pg_project: dict[str, str], tmp_path: Path) -> None:
    env = pg_project
    made = manage(env, "create_backup")
    name = made.stdout.split("created: ")[1].split()[0]
    add_users(env, "after", 2)
    before = users(env)
    result = manage(env, "restore_backup", name)  # stdin is empty: EOF at once
    assert result.returncode == 1
    assert "stdin is closed" in result.stderr and "Traceback" not in result.stderr
    assert users(env) == before


def test_backup_retention_count_zero_is_refused_before_a_backup_is_made(tmp_path: Path) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "shopproject.settings_sqlite",
        "SHOP_SQLITE": str(tmp_path / "shop.sqlite3"),
        "SHOP_BACKUP_DIR": str(tmp_path / "backups"),
        "BACKUP_RETENTION_COUNT": "0",
    }
    assert manage(env, "migrate", "-v", "0").returncode == 0
    result = manage(env, "create_backup")
    assert result.returncode == 1
    assert "BACKUP_RETENTION_COUNT=0 would keep no backup at all" in result.stderr
    assert "--keep-last" not in result.stderr
    assert not (tmp_path / "backups").exists()


def test_the_backup_dir_variable_works_under_django(tmp_path: Path) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "shopproject.settings_sqlite",
        "SHOP_SQLITE": str(tmp_path / "shop.sqlite3"),
        "SHOP_BASE_DIR": str(tmp_path / "base"),
        "BACKUP_DIR": str(tmp_path / "from-variable"),
    }
    assert manage(env, "migrate", "-v", "0").returncode == 0
    made = manage(env, "create_backup")
    assert made.returncode == 0, made.stderr
    assert len(list((tmp_path / "from-variable").glob("*.manifest.json"))) == 1
    assert not (tmp_path / "base" / "backups").exists()
