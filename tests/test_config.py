"""Configuration precedence: arguments > DBSNAP_* > legacy BACKUP_* > DATABASE_URL > defaults."""

from __future__ import annotations

import pytest

from dbsnap.config import Config, policy_from_env
from dbsnap.exceptions import ConfigError
from dbsnap.retention import Policy


def test_defaults() -> None:
    config = Config.from_env({})
    assert config.database is None
    assert config.stores == ("./backups",)
    assert config.policy == Policy(keep_last=10)


def test_dbsnap_names_win_over_legacy_and_database_url() -> None:
    env = {
        "DBSNAP_DATABASE_URL": "sqlite:///a.db",
        "DATABASE_URL": "sqlite:///b.db",
        "DBSNAP_STORE": "/srv/a",
        "BACKUP_DIR": "/srv/b",
    }
    config = Config.from_env(env)
    assert config.database == "sqlite:///a.db"
    assert config.stores == ("/srv/a",)
    legacy = Config.from_env({"DATABASE_URL": "sqlite:///b.db", "BACKUP_DIR": "/srv/b"})
    assert legacy.database == "sqlite:///b.db"
    assert legacy.stores == ("/srv/b",)


def test_retention_from_environment() -> None:
    assert policy_from_env({"BACKUP_RETENTION_COUNT": "4"}) == Policy(keep_last=4)
    both = policy_from_env(
        {"BACKUP_RETENTION_COUNT": "4", "DBSNAP_KEEP_DAILY": "7", "DBSNAP_KEEP_WITHIN": "2d"}
    )
    assert both == Policy(keep_daily=7, keep_within="2d")
    assert policy_from_env({"DBSNAP_KEEP_LAST": "unlimited"}).keep_last == -1
    assert policy_from_env({"DBSNAP_KEEP_LAST": "3", "DBSNAP_TZ": "Europe/Berlin"}).tz.key == "Europe/Berlin"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "env", [{"BACKUP_RETENTION_COUNT": "ten"}, {"DBSNAP_KEEP_DAILY": "-3"}, {"DBSNAP_KEEP_WITHIN": "soon"}]
)
def test_bad_values_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(env))):
        policy_from_env(env)
