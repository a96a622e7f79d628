"""Reading a postgresql:// URL the way libpq does, including passwords people forget to percent-encode.

libpq ends the user-info part of a URL at the first '@' or '/', so a generated password holding an
unencoded '/' or '@' makes it read another host, user or database, and the URL (password and all)
then appears in its error messages. dbsnap reads such a URL only when one reading is possible: the
credentials end at the first '@' (libpq's reading) or at the last '@' (the password holds '/' or '@'),
and exactly one of the two names a host and a database. Otherwise it refuses, showing no part of it.
"""

from __future__ import annotations

import re
from typing import Any

from dbsnap.exceptions import ConfigError
from dbsnap.redact import register_secret

_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")

AMBIGUOUS = (
    "the user and password in the PostgreSQL URL cannot be told apart from its host and database (the "
    "password holds '/', '@' or '%XX' that are not percent-encoded); percent-encode the password, "
    "e.g. python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\"\"))' "
    "PASSWORD, or leave it out of the URL and use PGPASSWORD or ~/.pgpass"
)


def _valid(conninfo: Any, url: str) -> dict[str, Any] | None:
    """Parse `url` with libpq; return its parameters if it names a database and a sane host."""
    try:
        params: dict[str, Any] = conninfo.conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - any libpq parse error means "not this reading"
        return None
    dbname, host = str(params.get("dbname") or ""), str(params.get("host") or "")
    if not dbname or "@" in dbname or "/" in dbname or "@" in host:
        return None
    return params


def parse_credentials(url: str, conninfo: Any) -> tuple[dict[str, Any], str | None]:
    """Return libpq's parameters of `url` (without a password) and the password, or refuse.

    `conninfo` is psycopg's conninfo module. Raises ConfigError(AMBIGUOUS) when two readings of the
    URL name different servers or databases, or none names one.
    """
    scheme, sep, rest = url.partition("://")
    first_at, last_at = rest.find("@"), rest.rfind("@")
    slash = rest.find("/") if "/" in rest else len(rest)
    if not sep or rest.startswith("/") or first_at < 0 or (first_at == last_at and first_at < slash):
        params = conninfo.conninfo_to_dict(url)  # the caller translates a parse error
        return params, params.pop("password", None)
    # An '@' after a '/', or several: the password (or a user such as Azure's user@server) holds
    # characters that end libpq's user-info part.
    for candidate in (rest[:first_at], rest[:last_at]):
        register_secret(candidate.partition(":")[2])
    standard = _valid(conninfo, url) if first_at < slash else None
    userinfo, remainder = rest[:last_at], rest[last_at + 1 :]
    greedy = None if _ESCAPE.search(userinfo) else _valid(conninfo, f"{scheme}://{remainder}")
    if greedy is not None:
        user = userinfo.partition(":")[0]
        greedy = {**greedy, **({"user": user} if user else {})}
        greedy.pop("password", None)
    if standard is not None and greedy is not None:
        raise ConfigError(AMBIGUOUS)
    if standard is not None:
        return standard, standard.pop("password", None)
    if greedy is not None:
        secret = userinfo.partition(":")[2] or None
        register_secret(secret)
        return greedy, secret
    raise ConfigError(AMBIGUOUS)
