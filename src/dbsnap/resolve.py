"""Turning what the user typed (database URLs, store URLs, codec names) into plugin objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import fsspec
from fsspec.registry import known_implementations

from dbsnap.codecs import Codec
from dbsnap.config import Config
from dbsnap.drivers.base import Driver
from dbsnap.exceptions import ConfigError, DbsnapError, MissingExtraError, StoreError, UnknownSchemeError
from dbsnap.manifest import Snapshot
from dbsnap.plugins import Plugins
from dbsnap.redact import redact_url
from dbsnap.stores.store import Store


def open_driver(url: str, plugins: Plugins, **options: Any) -> Driver:
    """Return the driver for database `url`, chosen by its scheme."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("no database given; pass a URL such as sqlite:///app.db or set DBSNAP_DATABASE_URL")
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:
        raise ConfigError(f"database URL {redact_url(url)!r} is malformed ({exc})") from None
    drivers = plugins.drivers()
    if "://" not in url or not scheme:
        raise ConfigError(
            f"database {redact_url(url)!r} is not a URL; write sqlite:///path/to.db (relative), "
            "sqlite:////abs/path.db or postgresql://user@host/db"
        )
    base = scheme.split("+", 1)[0]
    registration = drivers.get(scheme) or drivers.get(base)
    if registration is None:
        installed = ", ".join(sorted(drivers)) or "none"
        raise UnknownSchemeError(
            f"no driver for {scheme}:// URLs (installed drivers: {installed}); "
            "install the plugin that provides it"
        )
    driver: Driver = registration.factory(url, **options)
    return driver


def open_store(store: str | Store, plugins: Plugins, **options: Any) -> Store:
    """Return the Store for a URL (or the Store given); local paths are local folders."""
    if isinstance(store, Store):
        return store
    if not isinstance(store, str) or not store.strip():
        raise ConfigError("the store is empty; give a folder such as ./backups or a URL")
    protocol = fsspec.utils.get_protocol(store)
    if "://" not in store and "::" not in store:
        protocol = "file"
    stores = plugins.stores()
    registration = stores.get(protocol)
    if registration is not None:
        opened: Store = registration.factory(store, **options)
        return opened
    if protocol in known_implementations:
        try:
            return Store.from_url(store, **options)
        except ImportError as exc:
            hint = known_implementations[protocol].get("err", str(exc))
            raise MissingExtraError(f"the {protocol}:// store needs an extra package: {hint}") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot open store {redact_url(store)}: {exc}") from None
    installed = ", ".join(sorted(stores)) or "none"
    raise UnknownSchemeError(
        f"no store for {protocol}:// URLs (installed stores: {installed}); "
        "use a folder path, file:///abs/path or another installed protocol"
    )


def get_codec(name: str, plugins: Plugins) -> Codec:
    """Return the codec registered as `name`."""
    codecs = plugins.codecs()
    registration = codecs.get(name)
    if registration is None:
        raise UnknownSchemeError(
            f"no codec named {name!r} (installed codecs: {', '.join(sorted(codecs)) or 'none'})"
        )
    codec: Codec = registration.factory
    return codec


StoreArg = str | Store | Sequence[str | Store] | None


def open_stores(store: StoreArg, config: Config, plugins: Plugins) -> list[Store]:
    """Open the store(s) given, or the configured ones when `store` is None."""
    if store is None:
        store = list(config.stores)
    items: Sequence[str | Store] = [store] if isinstance(store, str | Store) else store
    if not items:
        raise DbsnapError("no store given; pass --store or set DBSNAP_STORE")
    return [open_store(item, plugins) for item in items]


def primary_store(store: StoreArg, config: Config, plugins: Plugins) -> Store:
    """Return the store reads go to: the one given, or the first configured."""
    return open_stores(store, config, plugins)[0]


def resolve_snapshot(name_or_snapshot: str | Snapshot, st: Store) -> Snapshot:
    """Read the manifest of a snapshot given by name or as a Snapshot, from `st`."""
    if isinstance(name_or_snapshot, Snapshot):
        return st.get(name_or_snapshot.name)
    return st.get(name_or_snapshot)
