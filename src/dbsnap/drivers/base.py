"""The Driver protocol, the options a driver declares, and the capabilities it may offer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Protocol

import attrs

from dbsnap.codecs import Codec
from dbsnap.exceptions import ConfigError
from dbsnap.streams import Sink

# What a driver may offer beyond dump and restore; it says so in its `capabilities`.
VERIFY_RESTORE = "verify_restore"
CHECK_PAYLOAD = "check_payload"
QUERIES = "queries"
PARALLEL_RESTORE = "parallel_restore"
SOURCE = "source"
CAPABILITIES = {
    VERIFY_RESTORE: "verify_restore(payload, codec, *, queries=()): restore into a scratch target, check it, "
    "drop it; return facts (verify --restore, drills)",
    CHECK_PAYLOAD: "check_payload(payload, codec), a static method: read the payload without a database "
    "(plain verify)",
    QUERIES: "verify_restore runs `queries` on the scratch copy and returns their first values under "
    '"queries" (drill --expect)',
    PARALLEL_RESTORE: "restore(..., jobs=N) runs N workers, giving up all-or-nothing (restore --jobs)",
    SOURCE: "source(): where the database is (host, port, name, path), recorded in manifests so that "
    "databases sharing a label are told apart",
}

_KINDS = ("str", "int", "bool", "list", "duration")


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on", ""):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"-o {name}={value!r}: give true or false")


@attrs.frozen
class DriverOption:
    """One option a driver takes (``-o NAME=VALUE`` on the command line, a keyword in the API).

    Attributes:
        name: The option's name: the keyword the driver's constructor (snapshot) or restore() takes.
        kind: ``str``, ``int``, ``bool``, ``list`` (repeat -o to add) or ``duration`` (seconds, or 5m).
        default: The value when the option is not given.
        help: One line for ``dbsnap plugins --options DRIVER``.
        commands: Where it applies: ``snapshot`` (the constructor) and/or ``restore`` (restore()).
    """

    name: str
    kind: str = attrs.field(validator=attrs.validators.in_(_KINDS))
    default: Any = None
    help: str = ""
    commands: tuple[str, ...] = ("snapshot",)

    def convert(self, value: Any) -> Any:
        """Turn a command-line string (or an API value) into the option's type."""
        if not isinstance(value, str):
            return list(value) if self.kind == "list" and isinstance(value, Iterable) else value
        if self.kind == "int":
            try:
                return int(value)
            except ValueError:
                raise ConfigError(f"-o {self.name}={value!r}: give a whole number") from None
        if self.kind == "bool":
            return _parse_bool(self.name, value)
        if self.kind == "list":
            return [value]
        if self.kind == "duration":
            from dbsnap.durations import parse_timeout

            try:
                return parse_timeout(value)
            except ValueError as exc:
                raise ConfigError(f"-o {self.name}={value!r}: {exc}") from None
        return value


def coerce_options(
    declared: Sequence[DriverOption] | None, given: dict[str, Any], command: str, driver: str
) -> dict[str, Any]:
    """Check `given` against what the driver declares for `command`, converting command-line strings.

    A driver that declares nothing (`declared` None) gets what it is given, as before options were data.
    """
    if declared is None:
        return dict(given)
    known = {o.name: o for o in declared if command in o.commands}
    result: dict[str, Any] = {}
    for name, value in given.items():
        option = known.get(name)
        if option is None:
            names = ", ".join(sorted(known)) or "none"
            raise ConfigError(
                f"the {driver} driver has no {command} option {name!r} (its {command} options: {names}; "
                f"'dbsnap plugins --options {driver}' describes them)"
            )
        result[name] = option.convert(value)
    return result


def can(driver: Any, capability: str) -> bool:
    """Tell whether a driver (class or instance) declares `capability`."""
    return capability in getattr(driver, "capabilities", frozenset())


class Driver(Protocol):
    """Dumps one database to a byte sink, restores it from a verified local file.

    A driver class is built as ``Driver(url, codec=NAME, **snapshot_options)``: `codec` is the codec
    that will encode the dump (a driver whose tool compresses on its own can leave that to it).

    Attributes:
        name: The driver's name, recorded in manifests; also one of the URL schemes it is registered for.
        extension: What a default snapshot name ends in before the codec's extension.
        default_codec: The codec used when none is asked for.
        url: The database URL with any password redacted, for messages.
        options: The options it takes (DriverOption), for snapshots and restores.
        capabilities: What it offers beyond dump and restore (VERIFY_RESTORE, CHECK_PAYLOAD, ...).
    """

    name: ClassVar[str]
    extension: ClassVar[str]
    default_codec: str
    url: str
    options: ClassVar[tuple[DriverOption, ...]]
    capabilities: ClassVar[frozenset[str]]

    def label(self) -> str:
        """Return the default database label (SQLite file stem, PostgreSQL database name)."""

    def preflight(self) -> None:
        """Check, before any work, that a dump can run; raise a DbsnapError with the fix."""

    def dump(self, sink: Sink) -> dict[str, Any]:
        """Write a consistent dump to `sink` in bounded chunks; return the driver_info facts."""

    def restore(self, payload: str, codec: Codec, **options: Any) -> None:
        """Replace the database's content with the verified payload file at `payload`, all or nothing."""


def source_of(driver: Any) -> dict[str, Any]:
    """Return where the driver's database is (``source()`` when it declares SOURCE), else {}.

    A snapshot without a source is told apart from others by its label only.
    """
    return dict(driver.source()) if can(driver, SOURCE) else {}


class DriverFactory(Protocol):
    """What a driver plugin registers: called with the database URL, the codec and driver options."""

    def __call__(self, url: str, **options: Any) -> Driver:
        """Build a driver for `url`."""
