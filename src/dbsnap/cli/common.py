"""What every command shares: the JSON document, progress bars, confirmation, warnings about stores."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from typing import Any

from dbsnap.cli import exits


def emit(document: dict[str, Any]) -> None:
    """Print `document` as indented JSON on stdout: the one document a --json run prints."""
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


def error_object(exc: BaseException | None, code: int, message: str | None = None) -> dict[str, Any]:
    """The document's "error" member: the error's type, its one-line message and the exit code."""
    from dbsnap.redact import scrub

    kind = type(exc).__name__ if exc is not None else exits.MEANINGS.get(code, "failure").split(" (")[0]
    text = message if message is not None else (str(exc) if exc is not None else exits.MEANINGS.get(code, ""))
    return {"type": kind, "message": scrub(text), "exit_code": code}


def warn(message: str) -> None:
    """One warning line on stderr, dbsnap's way."""
    print(f"dbsnap: warning: {message}", file=sys.stderr)


def unread_stores(failures: dict[str, BaseException]) -> list[dict[str, str]]:
    """Warn about each store that could not be read; return them for the JSON document."""
    from dbsnap.redact import scrub

    shown = []
    for url, error in failures.items():
        warn(f"{url} could not be read: {scrub(str(error))}")
        shown.append({"store": url, "error": scrub(str(error)), "type": type(error).__name__})
    return shown


def progress(args: argparse.Namespace, what: str) -> Any:
    """A tqdm progress bar on stderr when it is a terminal and neither --quiet nor --json is given."""
    if args.quiet or args.json or not sys.stderr.isatty():
        return None
    from fsspec.callbacks import TqdmCallback

    return TqdmCallback(
        tqdm_kwargs={
            "desc": what,
            "unit": "B",
            "unit_scale": True,
            "unit_divisor": 1024,
            "file": sys.stderr,
            # A terminal that reports no width (a fresh pty) would get an empty bar.
            "ncols": min(shutil.get_terminal_size((100, 24)).columns, 120),
            "leave": False,
        }
    )


def close(bar: Any) -> None:
    """Close a progress bar made by progress(), if there is one."""
    if bar is not None:
        bar.close()


def confirm(question: str) -> bool:
    """Ask on the terminal; anything but yes is no, and so is a closed stdin (EOF)."""
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        sys.stderr.write("\n")
        print("dbsnap: stdin is closed, so the answer is no; pass --yes to confirm", file=sys.stderr)
        return False
    return line.strip().lower() in ("y", "yes")


def driver_options(args: argparse.Namespace) -> dict[str, Any]:
    """The driver options of the command line: -o NAME=VALUE, then the PostgreSQL aliases."""
    from dbsnap.exceptions import ConfigError

    options: dict[str, Any] = {}
    for item in getattr(args, "option", None) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-o {item!r}: give NAME=VALUE ('dbsnap plugins --options DRIVER' lists them)")
        options[key.strip().replace("-", "_")] = value
    aliases = (
        ("schemas", "schema"),
        ("exclude_schemas", "exclude_schema"),
        ("tables", "table"),
        ("exclude_tables", "exclude_table"),
        ("compress", "compress"),
        ("extra_args", "pg_dump_arg"),
        ("jobs", "jobs"),
        ("no_owner", "no_owner"),
        ("no_privileges", "no_privileges"),
        ("create", "create"),
    )
    for key, attr in aliases:
        value = getattr(args, attr, None)
        if value not in (None, False):
            options[key] = value
    return options


def warn_visible_passwords(*urls: str | None) -> None:
    """Warn when a URL given on the command line carries a password others can read in `ps`."""
    from dbsnap.redact import redact_url

    if any(isinstance(u, str) and "://" in u and redact_url(u) != u for u in urls):
        warn(
            "the database URL on the command line holds a password that other users can see in the "
            "process list; set DBSNAP_DATABASE_URL (or use a ~/.pgpass file) instead"
        )


def config() -> Any:
    """The configuration from the environment (DBSNAP_*, then the legacy BACKUP_* names)."""
    from dbsnap.config import Config

    return Config.from_env()
