"""`dbsnap list`: the snapshots of every store, newest first; exit 4 when a store could not be read."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dbsnap.cli import exits
from dbsnap.cli.common import config, unread_stores
from dbsnap.listing import matches, read_stores
from dbsnap.output import snapshot_json, snapshots_table


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """List snapshots; stores that cannot be read are named and make the exit code say so."""
    seen = read_stores(args.store, config=config())
    snaps = [s for s in seen.snapshots if args.database is None or matches(s, args.database)]
    document["snapshots"] = [snapshot_json(s) for s in snaps]
    document["unreadable"] = unread_stores(seen.failures)
    if not args.json:
        if snaps:
            print(snapshots_table(snaps))
        else:
            print("no snapshots", file=sys.stderr)
    return exits.PARTIAL if seen.failures else exits.OK
