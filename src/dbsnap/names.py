"""Snapshot names: what is allowed, and how default names are made."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from dbsnap.exceptions import InvalidNameError

MANIFEST_SUFFIX = ".manifest.json"
MAX_LENGTH = 200
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def validate_name(name: str) -> str:
    """Return `name` if it is a valid snapshot name, else raise InvalidNameError saying why."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError("snapshot name is empty; give a name such as 'mydb-2026.sqlite.zst'")
    if len(name) > MAX_LENGTH:
        raise InvalidNameError(f"snapshot name is {len(name)} characters long; the limit is {MAX_LENGTH}")
    if _NAME.fullmatch(name) is None:
        raise InvalidNameError(
            f"snapshot name {name!r} is not allowed: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (no path separators)"
        )
    if name.endswith(MANIFEST_SUFFIX):
        raise InvalidNameError(
            f"snapshot name {name!r} may not end in {MANIFEST_SUFFIX!r}: that suffix is the manifest's"
        )
    return name


def is_valid_name(name: str) -> bool:
    """Tell whether `name` would pass validate_name."""
    try:
        validate_name(name)
    except InvalidNameError:
        return False
    return True


def safe_label(label: str) -> str:
    """Turn a database label into a string that can start a snapshot name."""
    cleaned = _LABEL_UNSAFE.sub("-", label).strip(".-_")
    return cleaned[:100] or "db"


def default_name(label: str, extension: str, when: datetime, counter: int = 0) -> str:
    """Make `{label}-{UTC %Y%m%dT%H%M%SZ}[-N]{extension}`; counter > 0 adds the -N."""
    stamp = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = f"-{counter}" if counter else ""
    return validate_name(f"{safe_label(label)}-{stamp}{suffix}{extension}")


def manifest_name(name: str) -> str:
    """Return the manifest object's name for the payload `name`."""
    return name + MANIFEST_SUFFIX


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_LABEL = 200


def validate_label(label: str) -> str:
    """Return `label` if it can name a database in manifests, else raise InvalidNameError.

    Any printable text is allowed (spaces, unicode); control characters are not, so a label can
    never rewrite a terminal line or forge a log entry.
    """
    if not isinstance(label, str) or not label.strip():
        raise InvalidNameError("the database label is empty; give --label a name such as 'shop'")
    if len(label) > MAX_LABEL:
        raise InvalidNameError(
            f"the database label is {len(label)} characters long; the limit is {MAX_LABEL}"
        )
    if _CONTROL.search(label):
        raise InvalidNameError(f"the database label {label!r} holds control characters; use printable text")
    return label


def printable(text: str) -> str:
    """Return `text` with control characters escaped, for tables, logs and messages."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
