"""Keeping secrets out of text: URL password redaction and a scrubber for known secrets."""

from __future__ import annotations

import threading
from urllib.parse import quote, unquote, urlsplit, urlunsplit

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


def redact_url(url: str) -> str:
    """Return `url` with any password replaced by ***; the password is also registered."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    if not parts.netloc or "@" not in parts.netloc:
        return scrub(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if colon:
        register_secret(unquote(password))
        register_secret(password)
        userinfo = f"{user}:{MASK}"
    return scrub(urlunsplit(parts._replace(netloc=f"{userinfo}@{hostport}")))
