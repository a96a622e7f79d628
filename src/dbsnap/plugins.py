"""The plugin manager: entry-point discovery, name registries and typed event-hook calls."""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Iterable
from importlib import metadata
from typing import Any

import attrs
import pluggy

from dbsnap import hookspecs
from dbsnap.exceptions import PluginError

GROUP = "dbsnap"
log = logging.getLogger("dbsnap")


@attrs.frozen
class Registration:
    """One name a plugin registered.

    Attributes:
        kind: ``driver``, ``store`` or ``codec``.
        name: The scheme, protocol or codec name.
        factory: What the plugin registered for it.
        plugin: The plugin's name (its entry-point name, or the name given to `register`).
        dist: The distribution that provides the plugin, or ``-`` for one registered at run time.
    """

    kind: str
    name: str
    factory: Any
    plugin: str
    dist: str


@attrs.frozen
class LoadFailure:
    """A plugin that could not be loaded, and why."""

    plugin: str
    dist: str
    error: str


def _disabled() -> set[str]:
    raw = os.environ.get("DBSNAP_DISABLE_PLUGINS", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


@attrs.define
class Plugins:
    """A pluggy manager plus the registries built from it; one per process, fresh in tests."""

    pm: pluggy.PluginManager
    dists: dict[str, str] = attrs.field(factory=dict)
    failures: list[LoadFailure] = attrs.field(factory=list)
    _cache: dict[str, dict[str, Registration]] = attrs.field(factory=dict)
    # The last errors the failure hook was fired for, so an outer layer does not report one twice.
    _reported: collections.deque[BaseException] = attrs.field(factory=lambda: collections.deque(maxlen=32))

    def register(self, plugin: object, name: str, dist: str = "-") -> None:
        """Register a plugin object (a module or an instance with hookimpls) under `name`."""
        self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self.dists[name] = dist
        self._cache.clear()

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under `name`."""
        self.pm.unregister(name=name)
        self.dists.pop(name, None)
        self._cache.clear()

    def _registry(self, kind: str, hook: str) -> dict[str, Registration]:
        if kind in self._cache:
            return self._cache[kind]
        found: dict[str, Registration] = {}
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            plugin = impl.plugin_name

            def register(name: str, factory: Any, _plugin: str = plugin) -> None:
                if name in found:
                    other = found[name]
                    raise PluginError(
                        f"{kind} {name!r} is registered by two plugins, {other.plugin!r} "
                        f"({other.dist}) and {_plugin!r} ({self.dists.get(_plugin, '-')}); "
                        "uninstall one or block it with DBSNAP_DISABLE_PLUGINS"
                    )
                found[name] = Registration(kind, name, factory, _plugin, self.dists.get(_plugin, "-"))

            impl.function(register=register)
        self._cache[kind] = found
        return found

    def drivers(self) -> dict[str, Registration]:
        """Return every registered driver by URL scheme."""
        return self._registry("driver", "dbsnap_register_drivers")

    def stores(self) -> dict[str, Registration]:
        """Return every registered store class by fsspec protocol."""
        return self._registry("store", "dbsnap_register_stores")

    def codecs(self) -> dict[str, Registration]:
        """Return every registered codec by name."""
        return self._registry("codec", "dbsnap_register_codecs")

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Call every implementation of event `hook`; one that raises is logged and skipped."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            try:
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception as exc:  # noqa: BLE001 - a notifier must never fail the backup
                log.warning("Database backup: plugin %r failed in %s: %s", impl.plugin_name, hook, exc)

    def snapshot_finished(self, snapshot: Any, store: str, duration: float | None = None) -> None:
        """Fire dbsnap_snapshot_finished."""
        self.notify("dbsnap_snapshot_finished", snapshot=snapshot, store=store, duration=duration)

    def snapshot_failed(
        self, database: str, error: BaseException, store: str | None, duration: float | None = None
    ) -> None:
        """Fire dbsnap_snapshot_failed (once per error: an error already reported is not reported again)."""
        if any(error is seen for seen in self._reported):
            return
        self._reported.append(error)
        self.notify("dbsnap_snapshot_failed", database=database, error=error, store=store, duration=duration)

    def restore_finished(self, snapshot: Any, database: str) -> None:
        """Fire dbsnap_restore_finished."""
        self.notify("dbsnap_restore_finished", snapshot=snapshot, database=database)

    def prune_finished(self, plan: Any, store: str, dry_run: bool) -> None:
        """Fire dbsnap_prune_finished."""
        self.notify("dbsnap_prune_finished", plan=plan, store=store, dry_run=dry_run)


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=GROUP)


def create_plugins(*, load_entry_points: bool = True) -> Plugins:
    """Build a fresh plugin manager and load every `dbsnap` entry point, one by one."""
    pm = pluggy.PluginManager("dbsnap")
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm)
    if not load_entry_points:
        return plugins
    blocked = _disabled()
    seen: dict[str, str] = {}
    for ep in _entry_points():
        dist = ep.dist.name if ep.dist is not None else "-"
        if ep.name in blocked:
            continue
        if ep.name in seen and seen[ep.name] != dist:
            raise PluginError(
                f"two distributions declare the dbsnap plugin {ep.name!r}: {seen[ep.name]} and {dist}; "
                "uninstall one or block it with DBSNAP_DISABLE_PLUGINS"
            )
        if ep.name in seen:
            continue
        seen[ep.name] = dist
        try:
            plugins.register(ep.load(), name=ep.name, dist=dist)
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the rest
            plugins.failures.append(LoadFailure(ep.name, dist, f"{type(exc).__name__}: {exc}"))
            log.warning("dbsnap: plugin %r from %s failed to load (%s); skipped", ep.name, dist, exc)
    return plugins


_default: Plugins | None = None


def get_plugins() -> Plugins:
    """Return the process-wide plugin manager, building it on first use."""
    global _default
    if _default is None:
        _default = create_plugins()
    return _default


def reset_plugins() -> None:
    """Forget the process-wide plugin manager so the next use rediscovers plugins."""
    global _default
    _default = None
