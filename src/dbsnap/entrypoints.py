"""dbsnap's entry points, read from the installed distributions or from a cache that says the same.

Reading entry points imports importlib.metadata and opens every distribution's metadata: about
40 ms, more than the rest of a `dbsnap list`. So the result is cached (in DBSNAP_CACHE_DIR, or
$XDG_CACHE_HOME/dbsnap, or ~/.cache/dbsnap), keyed on the folders of sys.path and their modification
times: installing, upgrading or removing a distribution creates or removes its .dist-info folder in
one of them, which changes the key. Deleting the cache is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

FORMAT = 1
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def cache_root() -> Path:
    """Return dbsnap's cache folder (not created)."""
    chosen = os.environ.get("DBSNAP_CACHE_DIR")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dbsnap"


class EntryPoint:
    """One entry point: its group, name and object reference, the distribution and extra behind it."""

    def __init__(self, group: str, name: str, value: str, dist: str, extra: str | None, missing: list[str]):
        """Describe an entry point; `missing` are the packages of `extra` that are not installed."""
        self.group, self.name, self.value, self.dist = group, name, value, dist
        self.extra, self.missing = extra, tuple(missing)

    def load(self) -> Any:
        """Import the module and return the object the entry point names (``module:attr.attr``)."""
        module, _, attributes = self.value.split("[", 1)[0].strip().partition(":")
        found: Any = importlib.import_module(module.strip())
        for part in filter(None, attributes.strip().split(".")):
            found = getattr(found, part)
        return found


def _missing(ep: Any, extra: str | None) -> list[str]:
    """The packages `extra` of the entry point's distribution needs that are not installed."""
    if extra is None or ep.dist is None:
        return []
    from importlib import metadata

    missing = []
    for requirement in ep.dist.requires or []:
        marker = _EXTRA_MARKER.search(requirement)
        name = _REQUIREMENT.match(requirement)
        if marker is None or name is None or marker.group(1) != extra:
            continue
        try:
            metadata.distribution(name.group(1))
        except metadata.PackageNotFoundError:
            missing.append(name.group(1))
    return missing


def _scan(groups: tuple[str, ...]) -> dict[str, list[list[Any]]]:
    from importlib import metadata

    every = metadata.entry_points()  # one scan; select() works on 3.11's SelectableGroups and 3.12+
    found: dict[str, list[list[Any]]] = {}
    for group in groups:
        rows = found.setdefault(group, [])
        for ep in every.select(group=group):
            extra = ep.extras[0] if ep.extras else None
            dist = ep.dist.name if ep.dist is not None else "-"
            rows.append([ep.name, ep.value, dist, extra, _missing(ep, extra)])
    return found


def _holds_distributions(folder: str) -> bool:
    """Whether `folder` holds any installed distribution's metadata."""
    with contextlib.suppress(OSError), os.scandir(folder or ".") as entries:
        return any(e.name.endswith((".dist-info", ".egg-info")) for e in entries)
    return False


def _key(groups: tuple[str, ...]) -> str:
    folders = []
    for index, entry in enumerate(sys.path):
        # sys.path[0] is the script's folder or the working directory (`python -m`), whose mtime moves
        # with every file written there (a store in the current folder): it counts only when it holds
        # distributions, as site-packages does.
        if index == 0 and not _holds_distributions(entry):
            continue
        with contextlib.suppress(OSError):
            folders.append([entry, os.stat(entry or ".").st_mtime_ns])
    text = json.dumps([FORMAT, sys.executable, sys.version, groups, folders])
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def entry_points(groups: tuple[str, ...]) -> dict[str, list[EntryPoint]]:
    """The entry points of `groups` by group, from the cache when the installed set has not changed."""
    path = cache_root() / "entry-points" / f"{_key(groups)}.json"
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        found = _scan(groups)
        _save(path, found)
    return {group: [EntryPoint(group, *row) for row in found.get(group, [])] for group in groups}


def _save(path: Path, found: dict[str, list[list[Any]]]) -> None:
    """Write the cache atomically; a cache that cannot be written is simply not used next time."""
    import tempfile

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as out:
                json.dump(found, out)
            os.replace(temp, path)
        except OSError:
            os.unlink(temp)
