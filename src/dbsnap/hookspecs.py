"""pluggy markers and the hook specifications a dbsnap plugin may implement."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from dbsnap.manifest import Snapshot

hookspec = pluggy.HookspecMarker("dbsnap")
hookimpl = pluggy.HookimplMarker("dbsnap")

Register = Callable[[str, Any], None]


@hookspec
def dbsnap_register_drivers(register: Register) -> None:
    """Register database drivers: ``register(scheme, factory)``; factory(url) returns a Driver."""


@hookspec
def dbsnap_register_stores(register: Register) -> None:
    """Register store classes for fsspec protocols: ``register(protocol, factory)``."""


@hookspec
def dbsnap_register_codecs(register: Register) -> None:
    """Register codecs: ``register(name, codec)``; a codec encodes and decodes byte streams."""


@hookspec
def dbsnap_snapshot_finished(snapshot: Snapshot, store: str, duration: float | None) -> None:
    """Called once per store after a snapshot's manifest is committed there; `store` is redacted.

    `duration` is the run's seconds from the start of the dump (None when unknown).
    """


@hookspec
def dbsnap_snapshot_failed(
    database: str, error: BaseException, store: str | None, duration: float | None
) -> None:
    """Called when a snapshot fails, for a whole run (`store` None) or one store."""


@hookspec
def dbsnap_restore_finished(snapshot: Snapshot, database: str) -> None:
    """Called after a snapshot was restored into `database` (a redacted URL)."""


@hookspec
def dbsnap_prune_finished(plan: Any, store: str, dry_run: bool) -> None:
    """Called after prune planned (and, unless `dry_run`, carried out) `plan` on `store`."""
