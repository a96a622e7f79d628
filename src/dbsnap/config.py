"""Config: settings from explicit arguments, DBSNAP_* variables, the legacy BACKUP_* names, defaults."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import quote

import attrs

from dbsnap.durations import Duration, parse_timeout
from dbsnap.environ import environ
from dbsnap.exceptions import ConfigError
from dbsnap.retention import PERIODS, Policy

DEFAULT_STORE = "./backups"
DEFAULT_KEEP_LAST = 10
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def parse_bool(name: str, value: str) -> bool:
    """Read a boolean environment variable, naming it when the value is not one."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a boolean; use true or false")


def parse_count(name: str, value: str) -> int:
    """Read a retention count (a whole number >= 0, or 'unlimited'), naming the variable if bad."""
    text = value.strip().lower()
    if text in ("unlimited", "-1"):
        return -1
    if not text.isdigit():
        raise ConfigError(f"{name}={value!r} is not a count; use a whole number >= 0 or 'unlimited'")
    return int(text)


def policy_from_env(env: Mapping[str, str]) -> Policy:
    """Build the default retention policy: DBSNAP_KEEP_* > BACKUP_RETENTION_COUNT > keep_last 10."""
    counts: dict[str, int] = {}
    windows: dict[str, Duration] = {}
    for rule in ("last", *PERIODS):
        var = f"DBSNAP_KEEP_{rule.upper()}"
        if env.get(var, "").strip():
            counts[f"keep_{rule}"] = parse_count(var, env[var])
    for rule in ("", *(f"_{p}" for p in PERIODS)):
        var = f"DBSNAP_KEEP_WITHIN{rule.upper()}"
        if env.get(var, "").strip():
            try:
                windows[f"keep_within{rule}"] = Duration.parse(env[var])
            except ValueError as exc:
                raise ConfigError(f"{var}: {exc}") from None
    if not counts and not windows:
        legacy = env.get("BACKUP_RETENTION_COUNT", "").strip()
        keep = parse_count("BACKUP_RETENTION_COUNT", legacy) if legacy else DEFAULT_KEEP_LAST
        if keep == 0:
            raise ConfigError(
                "BACKUP_RETENTION_COUNT=0 would keep no backup at all; set it to 1 or more (or "
                "'unlimited' to keep every backup)"
            )
        counts["keep_last"] = keep
    tz = env.get("DBSNAP_TZ", "").strip() or "UTC"
    policy = Policy(**counts, **windows, tz=tz)  # type: ignore[arg-type]
    if policy.is_empty():
        given = ", ".join(f"DBSNAP_KEEP_{k[5:].upper()}=0" for k in counts)
        raise ConfigError(
            f"{given} keeps no snapshot at all; set one of DBSNAP_KEEP_* to 1 or more, or unset them"
        )
    return policy


def policy_given(env: Mapping[str, str]) -> bool:
    """Tell whether the environment states a retention policy (else prune has none to apply)."""
    names = [f"DBSNAP_KEEP_{r.upper()}" for r in ("last", *PERIODS)]
    names += [f"DBSNAP_KEEP_WITHIN{r.upper()}" for r in ("", *(f"_{p}" for p in PERIODS))]
    return any(env.get(n, "").strip() for n in [*names, "BACKUP_RETENTION_COUNT"])


@attrs.frozen
class Config:
    """Where to snapshot from and to, and what to keep.

    Attributes:
        database: The database URL (may hold a password; never print it unredacted).
        stores: Store URLs every snapshot is written to; the first is where reads go by default.
        policy: The retention policy of the scheduled job (the original system's default: the last 10).
        policy_given: Whether the environment states that policy; `dbsnap prune` refuses to guess.
        stale_after: How old a leftover of a run that is gone must be before prune sweeps it.
        lock_wait: Seconds to wait for another run's lock on the same store and database.
        lock_stale: Seconds without a heartbeat after which a lock is dead and taken over (a dead
            holder on this host: at once).
        store_timeout: Seconds a store may make no progress before it is dropped from a run.
        recipients: age recipients every snapshot is encrypted to (none: not encrypted).
        identity_file: The age identity file that decrypts for restores and deep verification.
        encrypt: Which copies the Django/Celery job encrypts: ``all``, or ``offsite`` only.
    """

    database: str | None = None
    stores: tuple[str, ...] = (DEFAULT_STORE,)
    policy: Policy = attrs.field(factory=lambda: Policy(keep_last=DEFAULT_KEEP_LAST))
    policy_given: bool = False
    stale_after: timedelta = timedelta(hours=1)
    lock_wait: float = 300.0
    lock_stale: float = 600.0
    store_timeout: float = 60.0
    recipients: tuple[str, ...] = ()
    identity_file: str | None = None
    encrypt: str = "all"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read DBSNAP_*, then the original system's BACKUP_* names, then DATABASE_URL."""
        env = environ() if env is None else env
        database = env.get("DBSNAP_DATABASE_URL", "").strip() or env.get("DATABASE_URL", "").strip()
        store = env.get("DBSNAP_STORE", "").strip() or env.get("BACKUP_DIR", "").strip()
        stores = [store or DEFAULT_STORE]
        offsite = env.get("DBSNAP_OFFSITE", "").strip()
        if offsite:
            stores.append(offsite)
        elif parse_bool("BACKUP_SFTP_ENABLED", env.get("BACKUP_SFTP_ENABLED", "")):
            stores.append(legacy_sftp_url(env))
        return cls(
            database=database or None,
            stores=tuple(stores),
            policy=policy_from_env(env),
            policy_given=policy_given(env),
            lock_wait=_seconds(env, "DBSNAP_LOCK_WAIT", "300"),
            lock_stale=_seconds(env, "DBSNAP_LOCK_STALE", "10m"),
            store_timeout=_seconds(env, "DBSNAP_STORE_TIMEOUT", "60"),
            recipients=tuple(recipients_from_env(env)),
            identity_file=env.get("DBSNAP_AGE_IDENTITY_FILE", "").strip() or None,
            encrypt=_scope(env.get("DBSNAP_ENCRYPT", "").strip() or "all"),
        )


def recipients_from_env(env: Mapping[str, str]) -> list[str]:
    """DBSNAP_AGE_RECIPIENTS (comma- or newline-separated keys) and DBSNAP_AGE_RECIPIENTS_FILE."""
    given = [r for r in re.split(r"[,\n]", env.get("DBSNAP_AGE_RECIPIENTS", "")) if r.strip()]
    path = env.get("DBSNAP_AGE_RECIPIENTS_FILE", "").strip()
    if not given and not path:
        return []
    from dbsnap.agecodec import parse_recipients, read_recipients_file

    return parse_recipients(given) + (read_recipients_file(path) if path else [])


def _scope(value: str) -> str:
    if value not in ("all", "offsite"):
        raise ConfigError(
            f"DBSNAP_ENCRYPT={value!r}: use 'all' (every copy) or 'offsite' (the off-site copy only)"
        )
    return value


def _seconds(env: Mapping[str, str], name: str, default: str) -> float:
    """Read a waiting time (90, 90s, 5m, 6h, 1d) from the environment, naming the variable if bad."""
    raw = env.get(name, "").strip() or default
    try:
        return parse_timeout(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def legacy_sftp_url(env: Mapping[str, str]) -> str:
    """Build the off-site store URL from the original system's BACKUP_SFTP_* variables.

    The password stays out of the URL; the SFTP store reads BACKUP_SFTP_PASSWORD itself.
    """
    host = env.get("BACKUP_SFTP_HOST", "").strip()
    user = env.get("BACKUP_SFTP_USER", "").strip()
    if not host or not user:
        raise ConfigError("BACKUP_SFTP_ENABLED is true but BACKUP_SFTP_HOST or BACKUP_SFTP_USER is not set")
    port = env.get("BACKUP_SFTP_PORT", "").strip() or "22"
    if not port.isdigit():
        raise ConfigError(f"BACKUP_SFTP_PORT={port!r} is not a port number")
    folder = env.get("BACKUP_SFTP_DIRECTORY", "").strip() or "backups"
    # Percent-encoded, so a folder named "a#b" or "a?b" is that folder, not "a".
    path = quote(folder, safe="/") if folder.startswith("/") else f"/~/{quote(folder, safe='/')}"
    return f"sftp://{quote(user, safe='')}@{host}:{port}{path}"
