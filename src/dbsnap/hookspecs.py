"""The hooks a dbsnap plugin may implement, grouped by the stage of a run at which they fire.

A plugin module (entry-point group ``dbsnap``) implements any of them with ``@hookimpl``, taking any
subset of the arguments by name. Event hooks are notifications: what they raise is logged and the run
goes on. Hooks only ever gain arguments; none is renamed or removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from dbsnap.manifest import Snapshot

hookspec = pluggy.HookspecMarker("dbsnap")
hookimpl = pluggy.HookimplMarker("dbsnap")

Register = Callable[[str, Any], None]

# -------------------------------------------------------------------------------------------------
# Registration (prefer the entry-point groups dbsnap.drivers, dbsnap.stores and dbsnap.codecs,
# which are loaded only when their name is asked for; these hooks are called for every lookup).
# -------------------------------------------------------------------------------------------------


@hookspec
def dbsnap_register_drivers(register: Register) -> None:
    """Register database drivers.

    Args:
        register: ``register(scheme, factory)``; ``factory(url, **options)`` returns a Driver.
    """


@hookspec
def dbsnap_register_stores(register: Register) -> None:
    """Register stores.

    Args:
        register: ``register(protocol, factory)``; ``factory(url, **options)`` returns a Medium.
    """


@hookspec
def dbsnap_register_codecs(register: Register) -> None:
    """Register codecs.

    Args:
        register: ``register(name, codec)``: a Codec object, or a class built with each run's options.
    """


# -------------------------------------------------------------------------------------------------
# Snapshot
# -------------------------------------------------------------------------------------------------


@hookspec
def dbsnap_snapshot_started(database: str) -> None:
    """A snapshot run starts (the stores are connected and locked; the dump begins).

    Args:
        database: The database's label.
    """


@hookspec
def dbsnap_snapshot_finished(snapshot: Snapshot, store: str, duration: float | None) -> None:
    """A snapshot's manifest was committed to one store (fired once per store that has it).

    Args:
        snapshot: The committed snapshot's manifest.
        store: The store's URL, redacted.
        duration: Seconds from the start of the dump to the commit (None when unknown).
    """


@hookspec
def dbsnap_snapshot_failed(
    database: str, error: BaseException, store: str | None, duration: float | None
) -> None:
    """A snapshot failed: for the whole run (`store` None) or for one store while others committed.

    Args:
        database: The database's label.
        error: What went wrong (its text is safe to show: secrets are scrubbed when printed).
        store: The store that failed, redacted, or None when the whole run failed.
        duration: Seconds the run had taken (None when unknown).
    """


# -------------------------------------------------------------------------------------------------
# Restore, prune
# -------------------------------------------------------------------------------------------------


@hookspec
def dbsnap_restore_finished(snapshot: Snapshot, database: str) -> None:
    """A snapshot was restored.

    Args:
        snapshot: The restored snapshot's manifest.
        database: The database restored into, redacted.
    """


@hookspec
def dbsnap_prune_finished(plan: Any, store: str, dry_run: bool) -> None:
    """Prune planned (and unless `dry_run`, carried out) a retention plan on one store.

    Args:
        plan: A dbsnap.retention.Plan per database label (``{label: Plan}``).
        store: The store's URL, redacted.
        dry_run: True when nothing was deleted.
    """


# -------------------------------------------------------------------------------------------------
# Restore drills
# -------------------------------------------------------------------------------------------------


@hookspec
def dbsnap_drill_finished(record: dict[str, Any]) -> None:
    """A restore drill ended, well or not.

    Args:
        record: The drill record as written to the store (``ok``, ``snapshot``, ``database``,
            ``store``, ``at``, ``duration``, ``checks``, ``error``).
    """


@hookspec
def dbsnap_drill_failed(database: str, error: BaseException, store: str | None) -> None:
    """A restore drill failed: the newest snapshot did not restore, or a check did not hold.

    Args:
        database: The database's label.
        error: What went wrong.
        store: The store the snapshot came from, redacted (None if no snapshot was found).
    """
