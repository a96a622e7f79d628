"""The plugin contract: everything a driver, store or codec plugin may import from dbsnap, in one place.

A plugin (built in or third-party) imports from this module only; what is not here is internal and
may change in any release. docs/contract.md is generated from it (`scripts/contract_reference.py`).

Entry points (pyproject.toml of the plugin's distribution)::

    [project.entry-points."dbsnap.drivers"]   # URL scheme = "package.module:DriverClass [extra]"
    [project.entry-points."dbsnap.stores"]    # protocol = "package.module:Medium.from_url [extra]"
    [project.entry-points."dbsnap.codecs"]    # codec name = "package.module:CodecClass"
    [project.entry-points.dbsnap]             # event hooks: a module with @hookimpl functions
"""

from __future__ import annotations

from dbsnap.codecs import Codec
from dbsnap.drivers.base import (
    CAPABILITIES,
    CHECK_PAYLOAD,
    PARALLEL_RESTORE,
    QUERIES,
    SOURCE,
    VERIFY_RESTORE,
    Driver,
    DriverOption,
    can,
)
from dbsnap.drivers.process import Tool
from dbsnap.environ import child_environment, environ, host_id
from dbsnap.exceptions import (
    ConfigError,
    DbsnapError,
    DriverError,
    MissingExtraError,
    StoreError,
    VerificationError,
)
from dbsnap.faults import checkpoint
from dbsnap.hookspecs import hookimpl
from dbsnap.redact import redact_url, register_secret, scrub
from dbsnap.scratch import Scratch, decoded_copy, scratch_file
from dbsnap.stores.media import (
    SMALL_LIMIT,
    Medium,
    NotRegular,
    ObjectInfo,
    ObjectTooLarge,
    VersionConflict,
    Writer,
)
from dbsnap.streams import CHUNK, Sink, Source, copy

__all__ = [
    "CAPABILITIES",
    "CHECK_PAYLOAD",
    "CHUNK",
    "PARALLEL_RESTORE",
    "QUERIES",
    "SMALL_LIMIT",
    "SOURCE",
    "VERIFY_RESTORE",
    "Codec",
    "ConfigError",
    "DbsnapError",
    "Driver",
    "DriverError",
    "DriverOption",
    "Medium",
    "MissingExtraError",
    "NotRegular",
    "ObjectInfo",
    "ObjectTooLarge",
    "Scratch",
    "Sink",
    "Source",
    "StoreError",
    "Tool",
    "VerificationError",
    "VersionConflict",
    "Writer",
    "can",
    "checkpoint",
    "child_environment",
    "copy",
    "decoded_copy",
    "environ",
    "hookimpl",
    "host_id",
    "redact_url",
    "register_secret",
    "scratch_file",
    "scrub",
]
