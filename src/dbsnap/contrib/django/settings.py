"""Reading a Django project's settings: DATABASES[alias] as a dbsnap URL, BACKUP_DIR, DBSNAP."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import attrs

from dbsnap.agecodec import parse_recipients
from dbsnap.config import Config, legacy_sftp_url, parse_bool
from dbsnap.contrib.jobs import BackupPlan, encryption_for
from dbsnap.environ import environ
from dbsnap.exceptions import ConfigError, MissingExtraError
from dbsnap.retention import Policy
from dbsnap.snapshotting import Encryption

try:
    from django.conf import settings
except ImportError:  # pragma: no cover - only without the extra
    raise MissingExtraError("dbsnap.contrib.django needs Django: pip install 'dbsnap[django]'") from None

SQLITE = "django.db.backends.sqlite3"
POSTGRES = ("django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis")
MYSQL = ("django.db.backends.mysql", "django.contrib.gis.db.backends.mysql")
SUPPORTED = (SQLITE, *POSTGRES, *MYSQL)


def _dbsnap() -> Mapping[str, Any]:
    value = getattr(settings, "DBSNAP", {}) or {}
    if not isinstance(value, Mapping):
        raise ConfigError("settings.DBSNAP must be a dict")
    return value


def database_url(alias: str = "default") -> str:
    """Return the dbsnap URL of settings.DATABASES[alias] (SQLite and PostgreSQL engines)."""
    databases = settings.DATABASES
    if alias not in databases:
        raise ConfigError(f"no database alias {alias!r} in settings.DATABASES (have: {', '.join(databases)})")
    db = databases[alias]
    engine = db.get("ENGINE", "")
    if engine == SQLITE:
        name = str(db.get("NAME", ""))
        if not name or name == ":memory:" or name.startswith("file:"):
            raise ConfigError(f"database {alias!r} is not a SQLite file ({name!r}); dbsnap backs up files")
        return "sqlite:///" + str(Path(name).resolve())
    if engine in POSTGRES:
        user = quote(str(db.get("USER") or ""), safe="")
        password = str(db.get("PASSWORD") or "")
        auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
        host, port = str(db.get("HOST") or ""), str(db.get("PORT") or "")
        query = {k: str(v) for k, v in (db.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
        if host.startswith("/"):
            query["host"] = host
            host = ""
        if port and not host:
            query["port"] = port
        netloc = f"{auth}{host}:{port}" if host and port else f"{auth}{host}"
        suffix = f"?{urlencode(query)}" if query else ""
        return f"postgresql://{netloc}/{quote(str(db.get('NAME') or ''), safe='')}{suffix}"
    if engine in MYSQL:
        return _mysql_url(db)
    raise ConfigError(f"database {alias!r} uses ENGINE {engine!r}; dbsnap supports {', '.join(SUPPORTED)}")


def _mysql_url(db: Mapping[str, Any]) -> str:
    """mysql://USER:PASSWORD@HOST:PORT/NAME, with ?socket= for a socket path (HOST or OPTIONS)."""
    user = quote(str(db.get("USER") or ""), safe="")
    password = str(db.get("PASSWORD") or "")
    auth = f"{user}:{quote(password, safe='')}@" if password else (f"{user}@" if user else "")
    host, port = str(db.get("HOST") or ""), str(db.get("PORT") or "")
    socket = str((db.get("OPTIONS") or {}).get("unix_socket") or "")
    if host.startswith("/"):
        socket, host = host, ""
    netloc = f"{auth}{host or 'localhost'}" + (f":{port}" if port else "")
    suffix = f"?{urlencode({'socket': socket})}" if socket else ""
    return f"mysql://{netloc}/{quote(str(db.get('NAME') or ''), safe='')}{suffix}"


def backup_dir() -> str:
    """Return settings.BACKUP_DIR, else the DBSNAP_STORE or BACKUP_DIR variable, else <BASE_DIR>/backups."""
    folder = getattr(settings, "BACKUP_DIR", None)
    if folder:
        return str(folder)
    env = environ()
    variable = env.get("DBSNAP_STORE", "").strip() or env.get("BACKUP_DIR", "").strip()
    if variable:
        return variable
    base = getattr(settings, "BASE_DIR", None)
    return str(Path(base) / "backups") if base else os.path.abspath("backups")


def offsite_url() -> str | None:
    """Return the off-site store: DBSNAP["OFFSITE"], else the original system's BACKUP_SFTP_*; or None."""
    configured = _dbsnap().get("OFFSITE")
    if configured:
        return str(configured)
    env = environ()
    if env.get("BACKUP_SFTP_HOST", "").strip() and env.get("BACKUP_SFTP_USER", "").strip():
        return legacy_sftp_url(env)
    return None


def upload_enabled() -> bool:
    """Tell whether scheduled backups go off-site (BACKUP_SFTP_ENABLED, or DBSNAP["UPLOAD"])."""
    if "UPLOAD" in _dbsnap():
        return bool(_dbsnap()["UPLOAD"])
    return parse_bool("BACKUP_SFTP_ENABLED", environ().get("BACKUP_SFTP_ENABLED", ""))


def policy() -> Policy:
    """Return the rotation policy: DBSNAP["KEEP"] (Policy keywords), else the environment's."""
    keep = _dbsnap().get("KEEP")
    if keep:
        return Policy(**keep)
    return Config.from_env().policy


def backup_plan(alias: str = "default", *, upload: bool) -> BackupPlan:
    """Return the job plan for one database alias; `upload` needs an off-site store configured."""
    offsite = offsite_url() if upload else None
    if upload and offsite is None:
        raise ConfigError(
            "--upload needs an SFTP store: set BACKUP_SFTP_HOST and BACKUP_SFTP_USER (and "
            "BACKUP_SFTP_PASSWORD or DBSNAP_SFTP_KEY_FILE), or settings.DBSNAP['OFFSITE']"
        )
    return BackupPlan(
        database_url(alias), backup_dir(), offsite, policy(), _dbsnap().get("LABEL"), encryption(offsite)
    )


def encryption(offsite: str | None) -> Encryption | None:
    """The plan's encryption: DBSNAP["ENCRYPT_TO"] (age recipients) and DBSNAP["ENCRYPT"] ("all" or
    "offsite"), else DBSNAP_AGE_RECIPIENTS and DBSNAP_ENCRYPT."""
    settings_dict = _dbsnap()
    config = Config.from_env()
    scope = str(settings_dict.get("ENCRYPT", config.encrypt))
    if scope not in ("all", "offsite"):
        raise ConfigError(f"settings.DBSNAP['ENCRYPT'] is {scope!r}; use 'all' or 'offsite'")
    recipients = parse_recipients(settings_dict.get("ENCRYPT_TO", ()))
    return encryption_for(attrs.evolve(config, encrypt=scope), offsite, recipients)
