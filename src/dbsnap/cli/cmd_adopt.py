"""`dbsnap adopt FILE...`: make the original backup system's files snapshots of a database, in place."""

from __future__ import annotations

import argparse
from typing import Any

from dbsnap.adopting import adopt
from dbsnap.cli import exits
from dbsnap.cli.common import config, warn_visible_passwords
from dbsnap.output import snapshot_json


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Write a manifest beside each backup file."""
    warn_visible_passwords(args.database)
    snaps = adopt(args.files, args.database, label=args.label, config=config())
    document["snapshots"] = [snapshot_json(s) for s in snaps]
    if not args.json:
        for snap in snaps:
            print(f"adopted {snap.name} as a snapshot of {snap.database} ({snap.store})")
    return exits.OK
