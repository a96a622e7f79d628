"""Turning what the user typed (database URLs, store URLs, codec names) into plugin objects."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from dbsnap.codecs import Chain, Codec
from dbsnap.config import Config, parse_bool
from dbsnap.drivers.base import Driver, coerce_options
from dbsnap.environ import environ
from dbsnap.exceptions import ConfigError, DbsnapError, UnknownSchemeError
from dbsnap.plugins import Plugins
from dbsnap.redact import redact_url
from dbsnap.stores.media import Medium
from dbsnap.stores.store import Store


def open_driver(url: str, plugins: Plugins, *, codec: str | None = None, **options: Any) -> Driver:
    """Return the driver for database `url`, chosen by its scheme, built with `codec` and its options.

    The options are checked against those the driver declares for snapshots (command-line strings
    are converted to their types); `codec` reaches a driver whose constructor takes it.
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("no database given; pass a URL such as sqlite:///app.db or set DBSNAP_DATABASE_URL")
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as exc:
        raise ConfigError(f"database URL {redact_url(url)!r} is malformed ({exc})") from None
    if "://" not in url or not scheme:
        raise ConfigError(
            f"database {redact_url(url)!r} is not a URL; write sqlite:///path/to.db (relative), "
            "sqlite:////abs/path.db or postgresql://user@host/db"
        )
    base = scheme.split("+", 1)[0]
    registration = plugins.find("driver", scheme) or plugins.find("driver", base)
    if registration is None:
        installed = ", ".join(sorted(plugins.drivers())) or "none"
        raise UnknownSchemeError(
            f"no driver for {scheme}:// URLs (installed drivers: {installed}); "
            "install the plugin that provides it"
        )
    registration.require()
    factory = registration.factory
    options = coerce_options(getattr(factory, "options", None), options, "snapshot", registration.name)
    if _takes(factory, "codec"):
        options["codec"] = codec
    driver: Driver = factory(url, **options)
    return driver


def _takes(factory: Any, keyword: str) -> bool:
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return keyword in parameters


UNVETTED = "DBSNAP_UNVETTED_FSSPEC_STORES"


def open_medium(store: str | Medium, plugins: Plugins, **options: Any) -> Medium:
    """Return the medium (object layer) for a store URL; local paths are local folders.

    Only protocols a store plugin registered are used: an fsspec protocol or chained URL that none
    vouches for is refused, unless DBSNAP_UNVETTED_FSSPEC_STORES=true (experiments, no guarantees).
    """
    if isinstance(store, Medium):
        return store
    if not isinstance(store, str) or not store.strip():
        raise ConfigError("the store is empty; give a folder such as ./backups or a URL")
    chained = "::" in store
    protocol = "file" if "://" not in store and not chained else fsspec_protocol(store)
    registration = None if chained else plugins.find("store", protocol)
    if registration is not None:
        registration.require()
        opened = registration.factory(store, **options)
        return opened.medium if isinstance(opened, Store) else opened
    installed = ", ".join(sorted(plugins.stores())) or "none"
    if parse_bool(UNVETTED, environ().get(UNVETTED, "")):
        from dbsnap.stores.unvetted import UnvettedMedium

        return UnvettedMedium.from_url(store, **options)
    what = "chained URLs" if chained else f"{protocol}:// URLs"
    raise UnknownSchemeError(
        f"no store plugin vouches for {what} (supported: {installed}); use a folder path, file:///abs/path "
        f"or a supported protocol (set {UNVETTED}=true to try any fsspec protocol without guarantees)"
    )


def fsspec_protocol(url: str) -> str:
    """Return a URL's protocol as fsspec names it (without importing fsspec for plain paths)."""
    from fsspec.utils import get_protocol

    return str(get_protocol(url))


def open_store(store: str | Store | Medium, plugins: Plugins, **options: Any) -> Store:
    """Return the snapshot store for a URL, a medium, or the Store given.

    A URL's ``encrypt=required`` query option (``s3://bucket/app?encrypt=required``,
    ``file:///srv/backups?encrypt=required``) makes the store refuse snapshots in clear;
    ``create=parents`` lets a snapshot create the store's missing parent folders too.
    """
    if isinstance(store, Store):
        return store
    taken: set[str] = set()
    if isinstance(store, str) and "://" in store and "?" in store:  # a folder path may hold a "?"
        base, _, query = store.partition("?")
        parts = [part for part in query.split("&") if part]
        taken = {part for part in parts if part in ("encrypt=required", "create=parents")}
        kept = [part for part in parts if part not in taken]
        store = f"{base}?{'&'.join(kept)}" if kept else base
    medium = open_medium(store, plugins, **options)
    medium.create_parents = "create=parents" in taken
    return Store(medium, require_encryption="encrypt=required" in taken)


def get_codec(name: str, plugins: Plugins, **options: Any) -> Codec:
    """Return the codec (or chain, ``zstd+age``) registered as `name`, built with the `options` it takes.

    A codec registered as a class is built for each run with the options its constructor accepts
    (age: recipients, identities); one registered as an object is used as it is.
    """
    stages: list[Codec] = []
    for part in name.split("+"):
        registration = plugins.find("codec", part)
        if registration is None:
            installed = ", ".join(sorted(plugins.codecs())) or "none"
            raise UnknownSchemeError(f"no codec named {part!r} (installed codecs: {installed})")
        registration.require()
        factory = registration.factory
        if isinstance(factory, type):
            accepted = inspect.signature(factory).parameters
            stages.append(factory(**{k: v for k, v in options.items() if k in accepted}))
        else:
            stages.append(factory)
    return stages[0] if len(stages) == 1 else Chain(stages)


StoreArg = str | Store | Sequence[str | Store] | None


def open_stores(store: StoreArg, config: Config, plugins: Plugins) -> list[Store]:
    """Open the store(s) given, or the configured ones when `store` is None; one per location.

    The same location given twice (``./b`` and ``./b/``, or a link to it) is one store.
    """
    if store is None:
        store = list(config.stores)
    items: Sequence[str | Store] = [store] if isinstance(store, str | Store) else store
    if not items:
        raise DbsnapError("no store given; pass --store or set DBSNAP_STORE")
    opened: dict[str, Store] = {}
    for item in items:
        candidate = open_store(item, plugins)
        opened.setdefault(candidate.key, candidate)
    return list(opened.values())
