"""`dbsnap snapshot`: one dump into every store; exit 4 when only some stores took it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dbsnap import api
from dbsnap.agecodec import parse_recipients, read_recipients_file
from dbsnap.cli import exits
from dbsnap.cli.common import close, config, driver_options, error_object, progress, warn_visible_passwords
from dbsnap.output import human_size, snapshot_result_json
from dbsnap.redact import scrub


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Take a snapshot into every store."""
    warn_visible_passwords(args.database)
    settings = config()
    recipients = parse_recipients(args.encrypt_to or []) + (
        read_recipients_file(args.recipients_file) if args.recipients_file else []
    )
    bar = progress(args, "snapshot")
    try:
        result = api.snapshot_to_stores(
            args.database,
            args.store,
            name=args.name,
            label=args.label,
            codec=args.codec,
            config=settings,
            driver_options=driver_options(args),
            progress=bar,
            encryption=api.Encryption(tuple(recipients)) if recipients else None,
        )
        partial = None
    except api.PartialSnapshotError as exc:
        result, partial = exc.result, exc
    finally:
        close(bar)
    document.update(snapshot_result_json(result))
    if not args.json:
        for snap in result.snapshots:
            print(f"snapshot {snap.name} ({human_size(snap.size)}) committed to {snap.store}")
    for key, error in result.failures.items():
        print(f"dbsnap: error: {key}: {scrub(str(error))}", file=sys.stderr)
    if partial is not None:
        document["error"] = error_object(partial, exits.PARTIAL)
        return exits.PARTIAL
    return exits.OK
