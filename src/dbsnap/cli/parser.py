"""The argparse parser of the command line (the CLI reference in docs/ is generated from it).

Imports nothing heavy: `dbsnap --version` and `--help` run from this module and argparse alone.
"""

from __future__ import annotations

import argparse
import sys

from dbsnap import __version__
from dbsnap.cli import exits

TYPE_CHECKING = False  # not typing's: `dbsnap --version` imports only what it needs
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn

PERIODS = ("hourly", "daily", "weekly", "monthly", "yearly")  # as dbsnap.retention.PERIODS
HELP = {
    "snapshot": "take a snapshot of a database",
    "list": "list the snapshots in a store, newest first",
    "restore": "replace a database's content with a snapshot",
    "verify": "re-hash stored snapshots against their manifests",
    "prune": "delete snapshots a retention policy does not keep",
    "check": "say how fresh each database's snapshots are; exit 12 when too old",
    "drill": "restore the newest snapshot of a database into a scratch copy and check it",
    "adopt": "give backups made by the original backup system a manifest, in place",
    "plugins": "list drivers, stores and codecs and where they come from",
    "completion": "print a shell completion script (bash, zsh or fish)",
}


class UsageError(Exception):
    """A command line argparse refused; main prints it as a usage error (exit 2)."""

    def __init__(self, message: str, usage: str) -> None:
        """Keep argparse's message and the usage line of the parser that refused."""
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing and exiting."""

    def error(self, message: str) -> NoReturn:
        """Raise the message for main to print (as JSON too with --json)."""
        raise UsageError(f"{self.prog}: {message}", self.format_usage())


def _count(value: str) -> int:
    from dbsnap.config import parse_count
    from dbsnap.exceptions import ConfigError

    try:
        return parse_count("count", value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("count=", "")) from None


def _duration(value: str) -> str:
    from dbsnap.durations import Duration

    try:
        Duration.parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _timeout(value: str) -> float:
    from dbsnap.durations import parse_timeout

    try:
        return parse_timeout(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _global_options(p: argparse.ArgumentParser, *, top: bool) -> None:
    """-v/-q/--debug/--json, accepted before the command and after it."""
    default: Any = False if top else argparse.SUPPRESS
    p.add_argument("--debug", action="store_true", default=default, help="log everything and show tracebacks")
    p.add_argument("-v", "--verbose", action="store_true", default=default, help="log each step to stderr")
    p.add_argument("-q", "--quiet", action="store_true", default=default, help="no progress bar")
    p.add_argument("--json", action="store_true", default=default, help="print one JSON document on stdout")


def _store(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        action="append",
        metavar="URL",
        help="store folder or URL (default: $DBSNAP_STORE, $BACKUP_DIR, ./backups); repeat for several",
    )


def _identity(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--identity",
        metavar="FILE",
        help="age identity file that decrypts encrypted snapshots (default $DBSNAP_AGE_IDENTITY_FILE)",
    )


def build_parser(only: str | None = None) -> Parser:
    """Build the argument parser for every command (or `only` one: parsing needs no more)."""
    parser = Parser(
        prog="dbsnap",
        description="Consistent database snapshots: take, list, verify, restore and prune them.",
        epilog=f"Exit codes: {exits.summary()}.",
    )
    parser.add_argument("--version", action="version", version=f"dbsnap {__version__}")
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    for name, text in HELP.items():
        if only is None or name == only:
            command = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
            _global_options(command, top=False)
            BUILDERS[name](command)
    return parser


def _snapshot(p: argparse.ArgumentParser) -> None:
    p.add_argument("database", nargs="?", help="database URL (default: $DBSNAP_DATABASE_URL, $DATABASE_URL)")
    _store(p)
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
    _driver_option(p)
    pg = p.add_argument_group("PostgreSQL options (aliases of -o)")
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


def _driver_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-o",
        "--option",
        action="append",
        metavar="NAME=VALUE",
        help="a driver option (repeatable; 'dbsnap plugins --options DRIVER' lists them)",
    )


def _list(p: argparse.ArgumentParser) -> None:
    _store(p)
    p.add_argument("--database", metavar="LABEL", help="only snapshots of this database (label or identity)")


def _restore(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="*", metavar="NAME [DATABASE]", help="snapshot name, then database URL")
    p.add_argument("--latest", action="store_true", help="restore the newest snapshot of the database")
    _store(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _identity(p)
    p.add_argument(
        "--lock-timeout",
        type=_timeout,
        metavar="D",
        help="give up, changing nothing, when other sessions keep the database locked for D (default 3m)",
    )
    _driver_option(p)
    pg = p.add_argument_group("PostgreSQL options (aliases of -o)")
    pg.add_argument(
        "--jobs", type=int, metavar="N", help="parallel pg_restore from a local file (not one transaction)"
    )
    pg.add_argument("--no-owner", action="store_true", help="do not restore object owners")
    pg.add_argument("--no-privileges", action="store_true", help="do not restore grants")
    pg.add_argument("--create", action="store_true", help="create the database if it does not exist")


def _verify(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "target", nargs="*", metavar="NAME [DATABASE]", help="snapshot name; DATABASE for --restore"
    )
    p.add_argument("--all", action="store_true", help="verify every snapshot in the store")
    _identity(p)
    p.add_argument(
        "--restore",
        action="store_true",
        help="also restore into a scratch database on DATABASE's server "
        "(default $DBSNAP_DATABASE_URL) and check it",
    )
    _store(p)


def _prune(p: argparse.ArgumentParser) -> None:
    _store(p)
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
        help="keep all snapshots within D of the newest (e.g. 7d, 1y2m, 2d12h)",
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
        help="sweep leftovers older than D (default 1h; 0 sweeps every leftover of a finished run)",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be removed; delete nothing")


def _check(p: argparse.ArgumentParser) -> None:
    _store(p)
    p.add_argument("--database", metavar="LABEL", help="only this database (label or identity)")
    p.add_argument("--max-age", type=_duration, metavar="D", help="stale if the newest snapshot is older")
    p.add_argument(
        "--max-verify-age", type=_duration, metavar="D", help="stale if the last good verification is older"
    )
    p.add_argument(
        "--max-drill-age", type=_duration, metavar="D", help="stale if the last good drill is older"
    )
    p.add_argument(
        "--every-store",
        action="store_true",
        help="stale unless each store holds the newest snapshot (needs --max-age)",
    )
    p.add_argument(
        "--openmetrics",
        metavar="FILE",
        help="also write Prometheus text-format metrics to FILE, atomically (node_exporter textfile)",
    )


def _drill(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "database",
        nargs="*",
        metavar="DATABASE",
        help="database URL whose newest snapshot is drilled, on whose server the scratch copy is made "
        "(default: $DBSNAP_DATABASE_URL)",
    )
    _store(p)
    _identity(p)
    p.add_argument(
        "--expect",
        nargs=2,
        action="append",
        metavar=("QUERY", "CONDITION"),
        help="run QUERY on the restored copy; its single value must meet CONDITION (>0, =12, >=1, <5, !=0)",
    )


def _adopt(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="backup_YYYYMMDD_HHMMSS.sql/.dump/.sqlite3 files")
    p.add_argument(
        "--database",
        metavar="URL",
        help="the database the backups are of (default: $DBSNAP_DATABASE_URL); they restore only into it",
    )
    p.add_argument("--label", help="database label in the manifests (default: the database's name)")


def _plugins(p: argparse.ArgumentParser) -> None:
    p.add_argument("--options", metavar="DRIVER", help="list the options (-o NAME=VALUE) a driver takes")


def _completion(p: argparse.ArgumentParser) -> None:
    p.add_argument("shell", choices=("bash", "zsh", "fish"))


BUILDERS = {
    "snapshot": _snapshot,
    "list": _list,
    "restore": _restore,
    "verify": _verify,
    "prune": _prune,
    "check": _check,
    "drill": _drill,
    "adopt": _adopt,
    "plugins": _plugins,
    "completion": _completion,
}


def _command_index(argv: Sequence[str]) -> int | None:
    """Where the command is: the first word that is not an option (global options take no value)."""
    for i, word in enumerate(argv):
        if word == "--":
            return i + 1 if i + 1 < len(argv) else None
        if not word.startswith("-"):
            return i
    return None


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse a command line: global options anywhere, options and positionals in any order.

    Raises UsageError (argparse's message, or an unknown command with a suggestion); --help and
    --version print and raise SystemExit(0) as argparse does.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    index = _command_index(words)
    parser = build_parser(words[index] if index is not None and words[index] in HELP else None)
    if index is None or words[index] not in HELP:
        if index is not None:
            import difflib

            close = difflib.get_close_matches(words[index], list(HELP), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (choose from {', '.join(HELP)})"
            if any(w in ("-h", "--help", "--version") for w in words[:index]):
                parser.parse_args(words[:index])  # --help or --version before it still answer
            parser.error(f"unknown command {words[index]!r}{hint}")
        parser.parse_args(words)  # prints help or version, or says a command is needed
    assert index is not None
    if any(w in ("-h", "--help", "--version") for w in words[:index]):
        parser.parse_args(words[:index])
    top = build_globals().parse_args([w for w in words[:index] if w != "--"])
    command = words[index]
    chosen = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    args: argparse.Namespace = chosen.parse_intermixed_args(words[index + 1 :], namespace=top)
    args.command = command
    return args


def build_globals() -> Parser:
    """The options accepted before the command."""
    parser = Parser(prog="dbsnap", add_help=False)
    _global_options(parser, top=True)
    return parser
