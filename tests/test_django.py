"""The original application's interface: create_backup and restore_backup in a real Django project."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pgserver import PASSWORD as PG_PASSWORD
from tests.pgserver import USER as PG_USER
from tests.pgserver import Cluster
from tests.sshserver import PASSWORD as SFTP_PASSWORD
from tests.sshserver import USER as SFTP_USER
from tests.sshserver import SshServer

PROJECT = Path(__file__).parent / "djangoproject"
USERS = (
    "from django.contrib.auth.models import User; "
    "print(list(User.objects.order_by('id').values_list('id', 'username')))"
)


def manage(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DBSNAP_", "BACKUP_", "SHOP_"))}
    full.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env=full,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def users(env: dict[str, str]) -> str:
    result = manage(env, "shell", "-c", USERS)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def add_users(env: dict[str, str], prefix: str, count: int) -> None:
    code = (
        "from django.contrib.auth.models import User\n"
        f"for i in range({count}): User.objects.create_user(f'{prefix}{{i}}')"
    )
    result = manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def sqlite_project(tmp_path: Path) -> dict[str, str]:
    env = {
        "DJANGO_SETTINGS_MODULE": "shopproject.settings_sqlite",
        "SHOP_SQLITE": str(tmp_path / "shop.sqlite3"),
        "SHOP_BACKUP_DIR": str(tmp_path / "backups"),
    }
    assert manage(env, "migrate", "-v", "0").returncode == 0
    add_users(env, "customer", 25)
    return env


def test_create_backup_then_restore_with_yes(sqlite_project: dict[str, str], tmp_path: Path) -> None:
    env = sqlite_project
    before = users(env)
    made = manage(env, "create_backup")
    assert made.returncode == 0, made.stderr
    assert "Database backup created: shop-" in made.stdout and str(tmp_path / "backups") in made.stdout
    name = made.stdout.split("created: ")[1].split()[0]
    add_users(env, "later", 5)
    assert users(env) != before
    listing = manage(env, "restore_backup")
    assert name in listing.stdout and "local" in listing.stdout and "SIZE" in listing.stdout
    assert manage(env, "restore_backup", "--list").stdout == listing.stdout
    declined = manage(env, "restore_backup", name, stdin="no\n")
    assert declined.returncode == 0
    assert "replace ALL current data" in declined.stdout and "cancelled" in declined.stdout
    assert users(env) != before
    accepted = manage(env, "restore_backup", name, stdin="yes\n")
    assert accepted.returncode == 0, accepted.stderr
    assert users(env) == before


def test_custom_filename_and_noinput(sqlite_project: dict[str, str], tmp_path: Path) -> None:
    env = sqlite_project
    before = users(env)
    made = manage(env, "create_backup", "--filename", "custom_backup_name.sql")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "backups" / "custom_backup_name.sql").exists()
    add_users(env, "later", 3)
    restored = manage(env, "restore_backup", "custom_backup_name.sql", "--noinput")
    assert restored.returncode == 0, restored.stderr
    assert users(env) == before


def test_rotation_keeps_backup_retention_count(sqlite_project: dict[str, str], tmp_path: Path) -> None:
    env = {**sqlite_project, "BACKUP_RETENTION_COUNT": "2"}
    for _ in range(4):
        assert manage(env, "create_backup").returncode == 0
    assert len(list((tmp_path / "backups").glob("*.manifest.json"))) == 2


def test_upload_needs_sftp_configured(sqlite_project: dict[str, str]) -> None:
    result = manage(sqlite_project, "create_backup", "--upload")
    assert result.returncode == 1
    assert "--upload needs an SFTP store" in result.stderr


def test_upload_to_sftp_and_list_off_site(
    sqlite_project: dict[str, str], sshd: SshServer, tmp_path: Path
) -> None:
    env = {
        **sqlite_project,
        "BACKUP_SFTP_HOST": "127.0.0.1",
        "BACKUP_SFTP_PORT": str(sshd.port),
        "BACKUP_SFTP_USER": SFTP_USER,
        "BACKUP_SFTP_PASSWORD": SFTP_PASSWORD,
        "BACKUP_SFTP_DIRECTORY": str(sshd.remote / "django"),
        "DBSNAP_SFTP_KNOWN_HOSTS": str(sshd.known_hosts),
    }
    made = manage(env, "create_backup", "--upload")
    assert made.returncode == 0, made.stderr
    name = made.stdout.split("created: ")[1].split()[0]
    assert (sshd.remote / "django" / name).read_bytes() == (tmp_path / "backups" / name).read_bytes()
    assert SFTP_PASSWORD not in made.stdout + made.stderr
    listing = manage({**env, "BACKUP_SFTP_ENABLED": "true"}, "restore_backup", "--list")
    assert "local+off-site" in listing.stdout
    (tmp_path / "backups" / name).unlink()
    (tmp_path / "backups" / f"{name}.manifest.json").unlink()
    before = users(env)
    add_users(env, "later", 2)
    restored = manage({**env, "BACKUP_SFTP_ENABLED": "true"}, "restore_backup", name, "--noinput")
    assert restored.returncode == 0, restored.stderr
    assert users(env) == before


def migrated_pg_project(pg: Cluster, tmp_path: Path, dbname: str, prefix: str, count: int) -> dict[str, str]:
    """The test project on a new PostgreSQL database `dbname`, migrated, with `count` users; its env."""
    pg.createdb(dbname)
    env = {
        "DJANGO_SETTINGS_MODULE": "shopproject.settings_postgres",
        "SHOP_PG_NAME": dbname,
        "SHOP_PG_USER": PG_USER,
        "SHOP_PG_PASSWORD": PG_PASSWORD,
        "SHOP_PG_PORT": str(pg.port),
        "SHOP_BACKUP_DIR": str(tmp_path / "backups"),
    }
    assert manage(env, "migrate", "-v", "0").returncode == 0
    add_users(env, prefix, count)
    return env


@pytest.fixture
def postgres_project(pg: Cluster, tmp_path: Path) -> dict[str, str]:
    return migrated_pg_project(pg, tmp_path, "shop_django", "pguser", 20)


def test_postgres_backup_and_restore(postgres_project: dict[str, str]) -> None:
    env = postgres_project
    before = users(env)
    made = manage(env, "create_backup")
    assert made.returncode == 0, made.stderr
    assert ".pgdump" in made.stdout
    assert PG_PASSWORD not in made.stdout + made.stderr
    name = made.stdout.split("created: ")[1].split()[0]
    add_users(env, "later", 4)
    restored = manage(env, "restore_backup", name, stdin="yes\n")
    assert restored.returncode == 0, restored.stderr
    assert users(env) == before


@pytest.fixture
def django_settings(tmp_path: Path) -> None:
    """Django configured in this process, for call_command."""
    import django
    from django.conf import settings

    if not settings.configured:
        sys.path.insert(0, str(PROJECT))
        os.environ["SHOP_SQLITE"] = str(tmp_path / "inproc.sqlite3")
        os.environ["SHOP_BACKUP_DIR"] = str(tmp_path / "inproc-backups")
        os.environ["DJANGO_SETTINGS_MODULE"] = "shopproject.settings_sqlite"
        django.setup()
        # Read by setup only: left set, they would reach every later test's children (under xdist the
        # benchmark suite's django-dbbackup project ran with this module and failed).
        for name in ("DJANGO_SETTINGS_MODULE", "SHOP_SQLITE", "SHOP_BACKUP_DIR"):
            os.environ.pop(name)


def test_call_command_in_process(django_settings: None, tmp_path: Path) -> None:
    from io import StringIO

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import override_settings

    call_command("migrate", verbosity=0)
    User.objects.create_user("inproc")
    backups = tmp_path / "call-command-backups"
    with override_settings(BACKUP_DIR=str(backups)):
        out = StringIO()
        call_command("create_backup", "--filename", "inproc.sqlite.zst", stdout=out)
        assert "Database backup created: inproc.sqlite.zst" in out.getvalue()
        User.objects.create_user("after")
        call_command("restore_backup", "inproc.sqlite.zst", "--noinput", stdout=StringIO())
        assert list(User.objects.values_list("username", flat=True)) == ["inproc"]
        listing = StringIO()
        call_command("restore_backup", stdout=listing)
        assert "inproc.sqlite.zst" in listing.getvalue()
    assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_unsupported_engines_are_named(django_settings: None) -> None:
    from django.test import override_settings

    from dbsnap.contrib.django.settings import database_url
    from dbsnap.exceptions import ConfigError

    oracle = {"default": {"ENGINE": "django.db.backends.oracle", "NAME": "shop"}}
    with override_settings(DATABASES=oracle), pytest.raises(ConfigError, match="postgresql"):
        database_url()
    mysql = {"default": {"ENGINE": "django.db.backends.mysql", "NAME": "shop", "USER": "app",
                         "PASSWORD": "p@ss:w/", "HOST": "db.internal", "PORT": "3307"}}  # fmt: skip
    with override_settings(DATABASES=mysql):
        assert database_url() == "mysql://app:p%40ss%3Aw%2F@db.internal:3307/shop"
    socket = {"default": {"ENGINE": "django.db.backends.mysql", "NAME": "shop", "USER": "app",
                          "OPTIONS": {"unix_socket": "/run/mysqld/mysqld.sock"}}}  # fmt: skip
    with override_settings(DATABASES=socket):
        assert database_url() == "mysql://app@localhost/shop?socket=%2Frun%2Fmysqld%2Fmysqld.sock"
    pg = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "shop",
            "USER": "app",
            "PASSWORD": "p@ss:word/",
            "HOST": "/var/run/postgresql",
            "PORT": "5433",
            "OPTIONS": {"sslmode": "disable"},
        }
    }
    with override_settings(DATABASES=pg):
        assert database_url() == (
            "postgresql://app:p%40ss%3Aword%2F@/shop?sslmode=disable&host=%2Fvar%2Frun%2Fpostgresql&port=5433"
        )


def test_importing_dbsnap_imports_neither_django_nor_celery() -> None:
    code = "import sys, dbsnap, dbsnap.cli; print('django' in sys.modules, 'celery' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
