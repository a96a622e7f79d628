"""The process environment as dbsnap reads it, with secret-bearing variables hidden from children.

The command line moves DATABASE_URL, DBSNAP_DATABASE_URL and the SFTP password and passphrase out
of os.environ as it starts, so no child process (pg_dump, or a compiler a library spawns to find a
shared object) inherits them; dbsnap itself still reads them through environ().
"""

from __future__ import annotations

import os

from dbsnap.redact import register_secret

SECRET_VARIABLES = (
    "DATABASE_URL",
    "DBSNAP_DATABASE_URL",
    "DBSNAP_SFTP_PASSWORD",
    "DBSNAP_SFTP_KEY_PASSPHRASE",
    "BACKUP_SFTP_PASSWORD",
    "DBSNAP_SMTP_PASSWORD",
    "DBSNAP_NOTIFY_URL",
    "DBSNAP_HEALTHCHECK_URL",
    "DBSNAP_HEALTHCHECK_START_URL",
    "DBSNAP_HEALTHCHECK_SUCCESS_URL",
    "DBSNAP_HEALTHCHECK_FAIL_URL",
    "DBSNAP_HEALTHCHECK_DRILL_URL",
)
_hidden: dict[str, str] = {}


def hide_secrets() -> None:
    """Move the secret-bearing variables out of os.environ (the CLI does this first thing)."""
    for name in SECRET_VARIABLES:
        if name in os.environ:
            _hidden[name] = os.environ.pop(name)
            if name.endswith(("PASSWORD", "PASSPHRASE")):
                register_secret(_hidden[name])


def environ() -> dict[str, str]:
    """Return the environment dbsnap is configured by: os.environ plus what hide_secrets() took."""
    return {**os.environ, **_hidden}


def child_environment() -> dict[str, str]:
    """Return an environment for a child process: without dbsnap's settings or libpq passwords."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("PGPASSWORD", "PGPASSFILE", *SECRET_VARIABLES)
        and not key.startswith(("DBSNAP_", "BACKUP_"))
    }


def host_id() -> str:
    """This host's name in manifests and lock records (DBSNAP_HOST_ID overrides it, e.g. in containers)."""
    import socket

    return os.environ.get("DBSNAP_HOST_ID") or socket.gethostname()
