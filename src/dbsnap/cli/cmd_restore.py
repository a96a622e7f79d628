"""`dbsnap restore`: replace a database's content with a snapshot, after confirmation."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from dbsnap import api
from dbsnap.cli import exits
from dbsnap.cli.common import close, config, confirm, driver_options, progress, warn_visible_passwords
from dbsnap.exceptions import ConfigError, RestoreRefused
from dbsnap.listing import target_identity
from dbsnap.plugins import get_plugins
from dbsnap.redact import redact_url
from dbsnap.resolve import open_driver


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Restore a snapshot, after confirmation."""
    settings = config()
    positional = list(args.target)
    if len(positional) > (1 if args.latest else 2):
        raise ConfigError("restore takes NAME [DATABASE], or --latest [DATABASE]")
    if not args.latest and not positional:
        raise ConfigError("give a snapshot NAME to restore, or --latest")
    name = None if args.latest else positional.pop(0)
    database = (positional[0] if positional else None) or settings.database
    if not database:
        raise ConfigError("no database to restore into; give DATABASE or set DBSNAP_DATABASE_URL")
    warn_visible_passwords(database)
    if args.latest:
        driver = open_driver(database, get_plugins())
        name = api.latest(args.store, target_identity(driver), driver.label(), config=settings).name
    assert name is not None
    document.update({"snapshot": name, "database": redact_url(database)})
    if not args.yes:
        if not sys.stdin.isatty():
            raise RestoreRefused(
                "restore replaces all data in the database and needs confirmation; "
                "run it on a terminal or pass --yes"
            )
        question = f"Restore {name} into {redact_url(database)}? All current data there will be replaced."
        if not confirm(question):
            raise RestoreRefused("restore cancelled; nothing was changed")
    options = driver_options(args)
    if args.lock_timeout is not None:
        options["lock_timeout"] = args.lock_timeout
    bar = progress(args, "restore")
    started = time.monotonic()
    try:
        snap = api.restore(
            name,
            database,
            args.store,
            config=settings,
            restore_options=options,
            progress=bar,
            identity=args.identity,
        )
    finally:
        close(bar)
    document.update({"restored": snap.to_manifest(), "duration": round(time.monotonic() - started, 3)})
    if not args.json:
        print(f"restored {snap.name} into {redact_url(database)}")
    return exits.OK
