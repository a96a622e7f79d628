"""Keeping secrets out of text: URL password redaction and a scrubber for known secrets."""

from __future__ import annotations

import threading
from urllib.parse import quote, unquote, urlsplit

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
    """Return `url` with any password (user info or query) replaced by ***; passwords are registered."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    text = url
    if parts.query:
        text = text.replace(f"?{parts.query}", f"?{_redact_query(parts.query)}", 1)
    if parts.netloc and "@" in parts.netloc:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if colon:
            register_secret(unquote(password))
            register_secret(password)
            text = text.replace(f"//{parts.netloc}", f"//{user}:{MASK}@{hostport}", 1)
    return scrub(text)
