"""Temporary object names: hidden, unique, and carrying the token of the run that wrote them."""

from __future__ import annotations

import re

TMP_SUFFIX = ".dbsnap-tmp"
_TEMP = re.compile(r"\.(?P<final>.+)\.(?P<token>[0-9a-f]{12})" + re.escape(TMP_SUFFIX))


def temp_name(final: str, token: str) -> str:
    """Return the hidden temporary name under which run `token` writes what will become `final`."""
    return f".{final}.{token}{TMP_SUFFIX}"


def parse_temp(name: str) -> tuple[str, str] | None:
    """Return (final name, run token) of a temporary name, or None if `name` is not one."""
    match = _TEMP.fullmatch(name)
    return (match.group("final"), match.group("token")) if match else None
