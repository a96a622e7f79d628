"""The command line's entry: parse, run one command's module, turn every outcome into an exit code.

Each command lives in its own module, imported only when that command runs, so `--version`, `--help`
and a local `list` never import what they do not use. With --json exactly one JSON document reaches
stdout whatever happens: what the command did, and an "error" member whenever the exit code is not 0.
"""

from __future__ import annotations

import signal
import sys

from dbsnap.cli import exits
from dbsnap.cli.parser import UsageError, parse

TYPE_CHECKING = False  # not typing's: `dbsnap --version` imports only what it needs
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so children are killed and scratch removed as for Ctrl-C."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated


def _setup_logging(debug: bool, verbose: bool) -> None:
    import logging

    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    if not (debug or verbose):
        # The CLI prints each failure once as "dbsnap: error: ..."; the event log repeats it
        # for applications that embed dbsnap, so it is shown here only with -v or --debug.
        handler.addFilter(lambda record: not record.name.startswith("dbsnap.events"))
    root = logging.getLogger("dbsnap")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # The libraries dbsnap drives speak only when asked: their INFO lines are not about a backup.
    for library in ("asyncssh", "s3fs", "fsspec", "botocore", "aiobotocore", "urllib3"):
        logging.getLogger(library).setLevel(logging.DEBUG if debug else logging.WARNING)


def _pipe_closed() -> int:
    """stdout's reader went away (`dbsnap list | head`): stop quietly, as other Unix tools do."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return exits.PIPE_CLOSED


def _json_wanted(argv: Sequence[str] | None) -> bool:
    words = sys.argv[1:] if argv is None else argv
    return "--json" in words


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        args = parse(argv)
    except UsageError as exc:
        from dbsnap.cli.common import emit, error_object

        sys.stderr.write(exc.usage)
        print(exc, file=sys.stderr)
        if _json_wanted(argv):
            emit({"error": error_object(exc, exits.USAGE, str(exc))})
        return exits.USAGE
    _setup_logging(args.debug, args.verbose)
    from dbsnap.cli.common import emit

    document: dict[str, Any] = {}
    try:
        code = _run(args, document)
    except BrokenPipeError:
        return _pipe_closed()
    if args.json:
        try:
            emit(document)
        except BrokenPipeError:
            return _pipe_closed()
    return code


def _run(args: Any, document: dict[str, Any]) -> int:
    """Run the command; fill `document` with what it did and, on failure, the error."""
    import importlib
    import traceback

    from dbsnap.cli.common import error_object
    from dbsnap.environ import hide_secrets
    from dbsnap.exceptions import DbsnapError
    from dbsnap.redact import scrub

    hide_secrets()
    try:
        command = importlib.import_module(f"dbsnap.cli.cmd_{args.command}")
        code: int = command.run(args, document)
        if code != exits.OK and "error" not in document:
            document["error"] = error_object(None, code)
        return code
    except KeyboardInterrupt as exc:
        code = exits.TERMINATED if isinstance(exc, Terminated) else exits.INTERRUPTED
        print("dbsnap: interrupted; nothing half-written is left listed", file=sys.stderr)
        document["error"] = error_object(exc, code, "interrupted; nothing half-written is left listed")
        return code
    except BrokenPipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback, unless --debug
        if args.debug:
            traceback.print_exc()
        if isinstance(exc, DbsnapError):
            code, message = exc.exit_code, scrub(str(exc))
        elif isinstance(exc, OSError):
            code, message = exits.FAILURE, scrub(str(exc))
        else:
            code = exits.FAILURE
            message = (
                f"unexpected {type(exc).__name__}: {scrub(str(exc))} "
                "(rerun with --debug for the traceback and report it)"
            )
        print(f"dbsnap: error: {message}", file=sys.stderr)
        document["error"] = error_object(exc, code, message)
        return code
