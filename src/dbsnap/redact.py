"""Keeping secrets out of text: URL password redaction and a scrubber for known secrets."""

from __future__ import annotations

import threading
from urllib.parse import quote, unquote

MASK = "***"
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Remember `secret` (and its percent-encoded form) so scrub() removes it from any text."""
    if not secret or len(secret) < 3:
        return
    with _lock:
        _secrets.update({secret, quote(secret, safe=""), quote(secret)})


def scrub(text: str) -> str:
    """Replace every registered secret in `text` with ***."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


_QUERY_SECRETS = ("password", "passwd", "pass", "sslpassword")


def _redact_query(query: str) -> str:
    """Mask the values of password-like query parameters (libpq accepts ?password=), registering them."""
    if not query:
        return query
    pairs = []
    for item in query.split("&"):
        key, eq, value = item.partition("=")
        if eq and unquote(key).lower() in _QUERY_SECRETS:
            register_secret(unquote(value))
            register_secret(value)
            value = MASK
        pairs.append(f"{key}{eq}{value}")
    return "&".join(pairs)


def redact_url(url: str) -> str:
    """Return `url` with any password (user info or query) replaced by ***; passwords are registered.

    The user info is taken to end at the last '@' of the URL, not at the first '/' as a URL parser
    would, so a password holding an unencoded '/', '?', '#' or '@' is masked whole (at worst a host
    part is masked too). A URL whose text after '://' starts with '/' has no user info (sqlite:///).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return scrub(url)
    at = rest.rfind("@")
    if at > 0 and not rest.startswith("/"):
        userinfo, hostpart = rest[:at], rest[at + 1 :]
        user, colon, password = userinfo.partition(":")
        if colon:
            for candidate in (password, password.partition("@")[0]):
                register_secret(unquote(candidate))
                register_secret(candidate)
            rest = f"{user}:{MASK}@{hostpart}"
    head, question, query = rest.partition("?")
    if question:
        rest = f"{head}?{_redact_query(query)}"
    return scrub(f"{scheme}://{rest}")
