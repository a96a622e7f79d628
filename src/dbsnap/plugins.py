"""The plugin manager: entry points loaded lazily by kind and name, and event hooks through pluggy.

Drivers, stores and codecs are entry points in the groups ``dbsnap.drivers``, ``dbsnap.stores`` and
``dbsnap.codecs``, named by URL scheme, protocol or codec name: answering one URL imports one module.
An entry point may name the extra its plugin needs (``sftp = "dbsnap.stores.sftp:SftpMedium [sftp]"``);
when that extra's packages are missing, the plugin is listed as unusable with the command that
installs them, and using it says so before anything else. Event hooks (notifiers, loggers) come from
the ``dbsnap`` group, loaded the first time an event fires; so do plugins that still register names
through the ``dbsnap_register_*`` hooks.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
from collections.abc import Iterable
from typing import Any

import attrs

from dbsnap.entrypoints import EntryPoint, entry_points
from dbsnap.exceptions import MissingExtraError, PluginError

GROUP = "dbsnap"
KINDS = {"driver": "dbsnap.drivers", "store": "dbsnap.stores", "codec": "dbsnap.codecs"}
_LEGACY_HOOKS = {
    "driver": "dbsnap_register_drivers",
    "store": "dbsnap_register_stores",
    "codec": "dbsnap_register_codecs",
}
log = logging.getLogger("dbsnap")


@attrs.frozen
class Registration:
    """One driver, store or codec a plugin provides.

    Attributes:
        kind: ``driver``, ``store`` or ``codec``.
        name: The scheme, protocol or codec name.
        factory: What the plugin provides for it (a class or a callable).
        plugin: The entry point's (or the registering plugin's) name.
        dist: The distribution that provides it, or ``-`` for one registered at run time.
        extra: The extra of `dist` it needs, if any.
        missing: The packages of that extra that are not installed (empty: ready to use).
    """

    kind: str
    name: str
    factory: Any
    plugin: str
    dist: str
    extra: str | None = None
    missing: tuple[str, ...] = ()

    @property
    def install(self) -> str:
        """The command that installs what the plugin needs."""
        return f"pip install '{self.dist}[{self.extra}]'" if self.extra else f"pip install {self.dist}"

    def require(self) -> None:
        """Raise MissingExtraError, naming the command that fixes it, if a needed package is missing."""
        if self.missing:
            raise MissingExtraError(
                f"the {self.kind} {self.name!r} needs {', '.join(self.missing)}, which is not installed: "
                f"{self.install}"
            )


@attrs.frozen
class LoadFailure:
    """A plugin that could not be loaded, and why."""

    plugin: str
    dist: str
    error: str


def _disabled() -> set[str]:
    raw = os.environ.get("DBSNAP_DISABLE_PLUGINS", "")
    return {part.strip() for part in raw.split(",") if part.strip()}


def _entry_points() -> dict[str, list[EntryPoint]]:
    """dbsnap's entry-point groups (from the cache while the installed distributions are the same)."""
    return entry_points((GROUP, *KINDS.values()))


def _conflict(kind: str, name: str, one: Registration, other: Registration) -> PluginError:
    return PluginError(
        f"{kind} {name!r} is registered by two plugins, {one.plugin!r} ({one.dist}) and "
        f"{other.plugin!r} ({other.dist}); uninstall one or block it with DBSNAP_DISABLE_PLUGINS"
    )


@attrs.define
class Plugins:
    """A pluggy manager plus the registries built from it; one per process, fresh in tests."""

    entry_points: bool = True
    dists: dict[str, str] = attrs.field(factory=dict)
    failures: list[LoadFailure] = attrs.field(factory=list)
    _found: dict[str, dict[str, Registration]] = attrs.field(factory=lambda: {k: {} for k in KINDS})
    _complete: set[str] = attrs.field(factory=set)
    _legacy: dict[str, dict[str, Registration]] = attrs.field(factory=dict)
    _hooks_loaded: bool = False
    _groups: dict[str, list[EntryPoint]] | None = None
    _pm: Any = None
    # The last errors the failure hook was fired for, so an outer layer does not report one twice.
    _reported: collections.deque[BaseException] = attrs.field(factory=lambda: collections.deque(maxlen=32))

    @property
    def pm(self) -> Any:
        """The pluggy manager (pluggy is imported when the first hook is needed, not to resolve a name)."""
        if self._pm is None:
            import pluggy

            from dbsnap import hookspecs

            self._pm = pluggy.PluginManager("dbsnap")
            self._pm.add_hookspecs(hookspecs)
        return self._pm

    def register(self, plugin: object, name: str, dist: str = "-") -> None:
        """Register a plugin object (a module or an instance with hookimpls) under `name`."""
        self.load_hooks()
        try:
            self.pm.register(plugin, name=name)
            self.pm.check_pending()
        except Exception as exc:
            if type(exc).__name__ != "PluginValidationError":
                raise
            with contextlib.suppress(Exception):
                self.pm.unregister(name=name)
            raise PluginError(f"plugin {name!r} ({dist}) is not a valid dbsnap plugin: {exc}") from None
        self.dists[name] = dist
        self._legacy.clear()

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under `name`."""
        self.pm.unregister(name=name)
        self.dists.pop(name, None)
        self._legacy.clear()

    def find(self, kind: str, name: str) -> Registration | None:
        """The driver, store or codec registered as `name`, importing only its own module."""
        known = self._found[kind].get(name)
        if known is None and self.entry_points and kind not in self._complete:
            for ep in self._group(KINDS[kind]):
                if ep.name == name:
                    self._load(kind, ep)
            known = self._found[kind].get(name)
        if known is not None and not self._hooks_loaded:
            return known  # a clash with a hook-registered name is caught when the hooks load
        legacy = self._legacy_registry(kind).get(name)
        if known is not None and legacy is not None:
            raise _conflict(kind, name, known, legacy)
        return known or legacy

    def _check_legacy_conflicts(self) -> None:
        """Refuse a name registered through the hooks that an entry point of another plugin provides."""
        for kind, group in KINDS.items():
            legacy = self._legacy_registry(kind)
            for ep in self._group(group) if self.entry_points else []:
                if ep.name in legacy and ep.name not in _disabled() and ep.dist not in _disabled():
                    typed = self._found[kind].get(ep.name) or Registration(
                        kind, ep.name, None, ep.name, ep.dist
                    )
                    raise _conflict(kind, ep.name, typed, legacy[ep.name])

    def _group(self, group: str) -> list[EntryPoint]:
        if self._groups is None:
            self._groups = _entry_points()
        return self._groups.get(group, [])

    def registry(self, kind: str) -> dict[str, Registration]:
        """Every driver, store or codec of `kind` by name (imports every plugin module of that kind)."""
        if self.entry_points and kind not in self._complete:
            for ep in self._group(KINDS[kind]):
                if ep.name not in self._found[kind]:
                    self._load(kind, ep)
            self._complete.add(kind)
        legacy = self._legacy_registry(kind)
        for name in legacy.keys() & self._found[kind].keys():
            raise _conflict(kind, name, self._found[kind][name], legacy[name])
        return {**legacy, **self._found[kind]}

    def drivers(self) -> dict[str, Registration]:
        """Return every driver by URL scheme."""
        return self.registry("driver")

    def stores(self) -> dict[str, Registration]:
        """Return every store by protocol."""
        return self.registry("store")

    def codecs(self) -> dict[str, Registration]:
        """Return every codec by name."""
        return self.registry("codec")

    def _load(self, kind: str, ep: Any) -> None:
        dist = ep.dist
        blocked = _disabled()
        if ep.name in blocked or dist in blocked:
            return
        extra = ep.extra
        if ep.name in self._found[kind]:
            other = self._found[kind][ep.name]
            if other.dist != dist:
                raise PluginError(
                    f"{kind} {ep.name!r} is provided by two distributions, {other.dist} and {dist}; "
                    "uninstall one or block it with DBSNAP_DISABLE_PLUGINS"
                )
            return
        try:
            factory = ep.load()
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the rest
            missing = ep.missing
            why = f"needs {', '.join(missing)}: pip install '{dist}[{extra}]'" if missing else None
            self._failed(f"{kind}:{ep.name}", dist, why or f"{type(exc).__name__}: {exc}")
            return
        self._found[kind][ep.name] = Registration(kind, ep.name, factory, ep.name, dist, extra, ep.missing)

    def _failed(self, plugin: str, dist: str, error: str) -> None:
        self.failures.append(LoadFailure(plugin, dist, error))
        log.warning("dbsnap: plugin %r from %s failed to load (%s); skipped", plugin, dist, error)

    def load_hooks(self) -> None:
        """Import the ``dbsnap`` group's hook plugins once (notifiers, loggers, legacy registrations)."""
        if self._hooks_loaded:
            return
        self._hooks_loaded = True
        if not self.entry_points:
            return
        blocked = _disabled()
        seen: dict[str, str] = {}
        for ep in self._group(GROUP):
            dist = ep.dist
            if ep.name in blocked or dist in blocked:
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
                module = ep.load()
                self.pm.register(module, name=ep.name)
                self.pm.check_pending()
                self.dists[ep.name] = dist
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not break the rest
                if type(exc).__name__ == "PluginValidationError":
                    with contextlib.suppress(Exception):
                        self.pm.unregister(name=ep.name)
                    self._failed(ep.name, dist, f"not a valid dbsnap plugin: {exc}")
                else:
                    self._failed(ep.name, dist, f"{type(exc).__name__}: {exc}")
        self._check_legacy_conflicts()

    def _legacy_registry(self, kind: str) -> dict[str, Registration]:
        """Names registered through the dbsnap_register_* hooks, each call through pluggy."""
        self.load_hooks()
        if kind in self._legacy:
            return self._legacy[kind]
        found: dict[str, Registration] = {}
        hook = _LEGACY_HOOKS[kind]
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            plugin = impl.plugin_name

            def register(name: str, factory: Any, _plugin: str = plugin) -> None:
                made = Registration(kind, name, factory, _plugin, self.dists.get(_plugin, "-"))
                other = found.get(name) or self._found[kind].get(name)
                if other is not None:
                    raise _conflict(kind, name, other, made)
                found[name] = made

            self._one(plugin, hook)(register=register)
        self._legacy[kind] = found
        return found

    def _one(self, plugin: str, hook: str) -> Any:
        """A hook caller for one plugin only: pluggy's wrappers and tracing still apply."""
        others = [p for name, p in self.pm.list_name_plugin() if name != plugin]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    def notify(self, hook: str, **kwargs: Any) -> None:
        """Fire event `hook` to every plugin in turn; one that raises is logged and skipped."""
        self.load_hooks()
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            try:
                self._one(impl.plugin_name, hook)(**kwargs)
            except Exception as exc:  # noqa: BLE001 - a notifier must never fail the backup
                log.warning("Database backup: plugin %r failed in %s: %s", impl.plugin_name, hook, exc)

    def snapshot_started(self, database: str) -> None:
        """Fire dbsnap_snapshot_started."""
        self.notify("dbsnap_snapshot_started", database=database)

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

    def drill_finished(self, record: Any) -> None:
        """Fire dbsnap_drill_finished (a drill record, good or bad)."""
        self.notify("dbsnap_drill_finished", record=record)

    def drill_failed(self, database: str, error: BaseException, store: str | None) -> None:
        """Fire dbsnap_drill_failed."""
        self.notify("dbsnap_drill_failed", database=database, error=error, store=store)


def create_plugins(*, load_entry_points: bool = True) -> Plugins:
    """Build a fresh plugin manager; entry points are loaded when a name or an event needs them."""
    return Plugins(entry_points=load_entry_points)


def load_all(plugins: Plugins) -> Iterable[Registration]:
    """Every registration of every kind, for listing."""
    for kind in KINDS:
        yield from plugins.registry(kind).values()


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
