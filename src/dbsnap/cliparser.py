"""The argparse parser of the command line (the CLI reference in docs/ is generated from it)."""

from __future__ import annotations

import argparse

from dbsnap import __version__
from dbsnap.config import parse_count
from dbsnap.durations import Duration, parse_timeout
from dbsnap.exceptions import ConfigError
from dbsnap.retention import PERIODS


def _count(value: str) -> int:
    try:
        return parse_count("count", value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("count=", "")) from None


def _duration(value: str) -> str:
    try:
        Duration.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _timeout(value: str) -> float:
    try:
        return parse_timeout(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def identity_opt(p: argparse.ArgumentParser) -> None:
    """--identity, for the commands that may decrypt."""
    p.add_argument(
        "--identity",
        metavar="FILE",
        help="age identity file that decrypts encrypted snapshots (default $DBSNAP_AGE_IDENTITY_FILE)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every command (the CLI reference is generated from it)."""
    parser = argparse.ArgumentParser(
        prog="dbsnap",
        description="Consistent database snapshots: take, list, verify, restore and prune them.",
        epilog="Exit codes: 0 success, 1 failure, 2 usage error, 3 verification failed.",
    )
    parser.add_argument("--version", action="version", version=f"dbsnap {__version__}")
    parser.add_argument("--debug", action="store_true", help="log everything and show tracebacks")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step to stderr")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def store_opt(p: argparse.ArgumentParser, many: bool = False) -> None:
        p.add_argument(
            "--store",
            action="append" if many else "store",
            metavar="URL",
            help="store folder or URL (default: $DBSNAP_STORE, $BACKUP_DIR, ./backups)"
            + ("; repeat for several" if many else ""),
        )

    p = sub.add_parser("snapshot", help="take a snapshot of a database")
    p.add_argument("database", nargs="?", help="database URL (default: $DBSNAP_DATABASE_URL, $DATABASE_URL)")
    store_opt(p, many=True)
    p.add_argument("--name", help="snapshot name (default: LABEL-UTCTIME.EXT)")
    p.add_argument("--label", help="database label in the manifest (default: file stem or database name)")
    p.add_argument("--codec", help="compression codec (default: the driver's; see 'dbsnap plugins')")
    p.add_argument(
        "--encrypt-to",
        action="append",
        metavar="RECIPIENT",
        help="encrypt with age to this public key (age1... or an SSH public key; repeatable; "
        "default $DBSNAP_AGE_RECIPIENTS)",
    )
    p.add_argument(
        "--recipients-file", metavar="FILE", help="encrypt to every recipient in FILE (as age -R reads it)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    pg = p.add_argument_group("PostgreSQL options")
    pg.add_argument("--schema", action="append", metavar="PATTERN", help="dump only matching schemas")
    pg.add_argument(
        "--exclude-schema", action="append", metavar="PATTERN", help="do not dump matching schemas"
    )
    pg.add_argument("--table", action="append", metavar="PATTERN", help="dump only matching tables")
    pg.add_argument("--exclude-table", action="append", metavar="PATTERN", help="do not dump matching tables")
    pg.add_argument(
        "--compress", type=int, metavar="0-9", help="pg_dump's own compression level (implies --codec none)"
    )
    pg.add_argument("--pg-dump-arg", action="append", metavar="ARG", help="pass ARG to pg_dump (repeatable)")

    p = sub.add_parser("list", help="list the snapshots in a store, newest first")
    store_opt(p, many=True)
    p.add_argument("--database", metavar="LABEL", help="only snapshots of this database label")
    p.add_argument("--json", action="store_true", help="print an array of manifests")

    p = sub.add_parser("restore", help="replace a database's content with a snapshot")
    p.add_argument("target", nargs="*", metavar="NAME [DATABASE]", help="snapshot name, then database URL")
    p.add_argument("--latest", action="store_true", help="restore the newest snapshot of the database")
    store_opt(p, many=True)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    identity_opt(p)
    p.add_argument(
        "--lock-timeout",
        type=_timeout,
        metavar="D",
        help="give up, changing nothing, when other sessions keep the database locked for D (default 3m)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    pg = p.add_argument_group("PostgreSQL options")
    pg.add_argument(
        "--jobs", type=int, metavar="N", help="parallel pg_restore from a local file (not one transaction)"
    )
    pg.add_argument("--no-owner", action="store_true", help="do not restore object owners")
    pg.add_argument("--no-privileges", action="store_true", help="do not restore grants")
    pg.add_argument("--create", action="store_true", help="create the database if it does not exist")

    p = sub.add_parser("verify", help="re-hash stored snapshots against their manifests")
    p.add_argument(
        "target", nargs="*", metavar="NAME [DATABASE]", help="snapshot name; DATABASE for --restore"
    )
    p.add_argument("--all", action="store_true", help="verify every snapshot in the store")
    identity_opt(p)
    p.add_argument(
        "--restore",
        action="store_true",
        help="also restore into a scratch database on DATABASE's server "
        "(default $DBSNAP_DATABASE_URL) and check it",
    )
    store_opt(p, many=True)
    p.add_argument("--json", action="store_true", help="print the results as JSON")

    p = sub.add_parser("prune", help="delete snapshots a retention policy does not keep")
    store_opt(p, many=True)
    p.add_argument("--database", metavar="LABEL", help="only prune snapshots of this database label")
    p.add_argument("--keep-last", type=_count, metavar="N", help="keep the newest N snapshots")
    for period in PERIODS:
        unit = {"daily": "day", "weekly": "ISO week"}.get(period, period[:-2])
        p.add_argument(
            f"--keep-{period}",
            type=_count,
            metavar="N",
            help=f"keep the newest snapshot of each of the last N {unit}s",
        )
    p.add_argument(
        "--keep-within",
        type=_duration,
        metavar="D",
        help="keep all snapshots within D of the newest (e.g. 7d)",
    )
    for period in PERIODS:
        p.add_argument(
            f"--keep-within-{period}",
            type=_duration,
            metavar="D",
            help=f"keep {period} snapshots within D of the newest",
        )
    p.add_argument("--tz", metavar="ZONE", help="calendar for buckets (IANA name, default UTC)")
    p.add_argument(
        "--stale-after",
        type=_duration,
        metavar="D",
        default="1h",
        help="sweep leftovers older than D (default 1h)",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be removed; delete nothing")
    p.add_argument("--json", action="store_true", help="print keep/remove with reasons as JSON")

    p = sub.add_parser("plugins", help="list drivers, stores and codecs and where they come from")
    p.add_argument("--json", action="store_true", help="print as JSON")
    return parser
