"""The command line: argparse, prompts and output; every decision is made in dbsnap.api."""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from dbsnap import api
from dbsnap.agecodec import parse_recipients, read_recipients_file
from dbsnap.cliparser import build_parser
from dbsnap.config import Config
from dbsnap.durations import Duration
from dbsnap.environ import hide_secrets
from dbsnap.exceptions import ConfigError, DbsnapError, RestoreRefused, VerificationError
from dbsnap.listing import matches, target_identity
from dbsnap.output import (
    emit_json,
    human_size,
    prune_json,
    prune_text,
    snapshot_json,
    snapshot_result_json,
    snapshots_table,
    table,
    verify_line,
)
from dbsnap.plugins import get_plugins
from dbsnap.pruning import prune
from dbsnap.redact import redact_url, scrub
from dbsnap.resolve import open_driver, open_stores
from dbsnap.retention import PERIODS, Policy
from dbsnap.verifying import verify

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_BAD_SNAPSHOT, EXIT_PARTIAL = 0, 1, 2, 3, 4


def _policy(args: argparse.Namespace, config: Config) -> Policy:
    rules: dict[str, Any] = {}
    for rule in ("last", *PERIODS):
        if getattr(args, f"keep_{rule}") is not None:
            rules[f"keep_{rule}"] = getattr(args, f"keep_{rule}")
    for rule in ("", *(f"_{p}" for p in PERIODS)):
        if getattr(args, f"keep_within{rule}") is not None:
            rules[f"keep_within{rule}"] = getattr(args, f"keep_within{rule}")
    if not rules:
        return config.policy if args.tz is None else Policy(**_as_rules(config.policy), tz=args.tz)
    return Policy(**rules, tz=args.tz or config.policy.tz)


def _as_rules(policy: Policy) -> dict[str, Any]:
    names = [f"keep_{r}" for r in ("last", *PERIODS)] + [
        f"keep_within{s}" for s in ("", *(f"_{p}" for p in PERIODS))
    ]
    return {n: getattr(policy, n) for n in names}


def _driver_options(args: argparse.Namespace) -> dict[str, Any]:
    pairs = (
        ("schemas", args.schema),
        ("exclude_schemas", args.exclude_schema),
        ("tables", args.table),
        ("exclude_tables", args.exclude_table),
        ("compress", args.compress),
        ("extra_args", args.pg_dump_arg),
    )
    return {key: value for key, value in pairs if value is not None}


def _progress(args: argparse.Namespace, what: str) -> Any:
    """A tqdm progress bar on stderr when it is a terminal and neither --quiet nor --json is given."""
    if args.quiet or getattr(args, "json", False) or not sys.stderr.isatty():
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


def _close(progress: Any) -> None:
    if progress is not None:
        progress.close()


def cmd_snapshot(args: argparse.Namespace, config: Config) -> int:
    """Take a snapshot into every store."""
    progress = _progress(args, "snapshot")
    recipients = parse_recipients(args.encrypt_to or []) + (
        read_recipients_file(args.recipients_file) if args.recipients_file else []
    )
    try:
        result = api.snapshot_to_stores(
            args.database,
            args.store,
            name=args.name,
            label=args.label,
            codec=args.codec,
            config=config,
            driver_options=_driver_options(args),
            progress=progress,
            encryption=api.Encryption(tuple(recipients)) if recipients else None,
        )
    except api.PartialSnapshotError as exc:
        result = exc.result
    finally:
        _close(progress)
    if args.json:
        emit_json(snapshot_result_json(result))
    else:
        for snap in result.snapshots:
            print(f"snapshot {snap.name} ({human_size(snap.size)}) committed to {snap.store}")
    for key, error in result.failures.items():
        print(f"dbsnap: error: {key}: {scrub(str(error))}", file=sys.stderr)
    if result.failures and result.snapshots:
        return EXIT_PARTIAL
    return EXIT_FAILURE if result.failures else EXIT_OK


def cmd_list(args: argparse.Namespace, config: Config) -> int:
    """List snapshots; stores that cannot be read are named and make the exit code say so."""
    seen = api.read_stores(args.store, config=config)
    snaps = [s for s in seen.snapshots if args.database is None or matches(s, args.database)]
    if args.json:
        emit_json([snapshot_json(s) for s in snaps])
    elif snaps:
        print(snapshots_table(snaps))
    else:
        print("no snapshots", file=sys.stderr)
    for url, error in seen.failures.items():
        print(f"dbsnap: warning: {url} could not be read: {scrub(str(error))}", file=sys.stderr)
    return EXIT_PARTIAL if seen.failures else EXIT_OK


def _confirm(question: str) -> bool:
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def cmd_restore(args: argparse.Namespace, config: Config) -> int:
    """Restore a snapshot, after confirmation."""
    positional = list(args.target)
    if len(positional) > (1 if args.latest else 2):
        raise ConfigError("restore takes NAME [DATABASE], or --latest [DATABASE]")
    if not args.latest and not positional:
        raise ConfigError("give a snapshot NAME to restore, or --latest")
    name = None if args.latest else positional.pop(0)
    database = (positional[0] if positional else None) or config.database
    if not database:
        raise ConfigError("no database to restore into; give DATABASE or set DBSNAP_DATABASE_URL")
    if args.latest:
        driver = open_driver(database, get_plugins())
        name = api.latest(args.store, target_identity(driver), driver.label(), config=config).name
    assert name is not None
    if not args.yes:
        if not sys.stdin.isatty():
            raise RestoreRefused(
                "restore replaces all data in the database and needs confirmation; "
                "run it on a terminal or pass --yes"
            )
        question = f"Restore {name} into {redact_url(database)}? All current data there will be replaced."
        if not _confirm(question):
            print("restore cancelled; nothing was changed", file=sys.stderr)
            return EXIT_FAILURE
    options = {
        key: value
        for key, value in (
            ("jobs", args.jobs),
            ("no_owner", args.no_owner or None),
            ("no_privileges", args.no_privileges or None),
            ("create", args.create or None),
            ("lock_timeout", args.lock_timeout),
        )
        if value is not None
    }
    progress = _progress(args, "restore")
    started = time.monotonic()
    try:
        snap = api.restore(
            name,
            database,
            args.store,
            config=config,
            restore_options=options,
            progress=progress,
            identity=args.identity,
        )
    finally:
        _close(progress)
    if args.json:
        emit_json(
            {
                "restored": snap.to_manifest(),
                "database": redact_url(database),
                "duration": round(time.monotonic() - started, 3),
            }
        )
    else:
        print(f"restored {snap.name} into {redact_url(database)}")
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, config: Config) -> int:
    """Verify one or all snapshots; with --restore, by restoring into a scratch database."""
    positional = list(args.target)
    name = None if args.all else (positional.pop(0) if positional else None)
    if (name is None) != bool(args.all) or len(positional) > (1 if args.restore else 0):
        raise ConfigError("give a snapshot NAME to verify, or --all; DATABASE only with --restore")
    scratch_on = (positional[0] if positional else config.database) if args.restore else None
    if args.restore and not scratch_on:
        raise ConfigError(
            "--restore needs a DATABASE (or DBSNAP_DATABASE_URL) whose server gets the scratch copy"
        )
    stores = open_stores(args.store, config, get_plugins())
    targets: list[tuple[str, Any]] = []
    unread: dict[str, BaseException] = {}
    if name:
        targets = [(name, stores)]
    else:
        for st in stores:
            try:
                st.require()
                targets += [(item, st) for item in st.manifest_names()]
            except (DbsnapError, OSError) as exc:
                unread[st.url] = st.explain(exc)
                if len(stores) == 1:
                    raise unread[st.url] from None
    results: list[dict[str, Any]] = []
    for item, where in targets:
        progress = _progress(args, f"verify {item}")
        shown = {"name": item, "store": where.url if not isinstance(where, list) else None}
        try:
            done = verify(
                item, where, restore_into=scratch_on, config=config, progress=progress, identity=args.identity
            )
            results.append(
                {**shown, "store": done.snapshot.store, "ok": True, "error": None, "checks": done.checks}
            )
        except VerificationError as exc:
            results.append({**shown, "ok": False, "error": scrub(str(exc)), "checks": {}})
        except DbsnapError as exc:
            if name:
                raise
            results.append({**shown, "ok": False, "error": scrub(str(exc)), "checks": {}})
        finally:
            _close(progress)
    if args.json:
        emit_json(results)
    else:
        for result in results:
            print(verify_line(result))
        if not results:
            print("no snapshots to verify", file=sys.stderr)
    for url, error in unread.items():
        print(f"dbsnap: warning: {url} could not be read: {scrub(str(error))}", file=sys.stderr)
    if not all(r["ok"] for r in results):
        return EXIT_BAD_SNAPSHOT
    return EXIT_PARTIAL if unread else EXIT_OK


def cmd_prune(args: argparse.Namespace, config: Config) -> int:
    """Prune by a retention policy."""
    policy = _policy(args, config)
    results = prune(
        args.store,
        policy,
        dry_run=args.dry_run,
        database=args.database,
        stale_after=_stale(args.stale_after),
        config=config,
    )
    if args.json:
        emit_json(prune_json(results))
    else:
        print(prune_text(results))
    return EXIT_OK


def _stale(value: str) -> timedelta:
    parsed = Duration.parse(value)
    if parsed.years or parsed.months:
        raise ConfigError(f"--stale-after {value!r}: give days and hours only, e.g. 1h or 2d")
    return parsed.delta


def cmd_plugins(args: argparse.Namespace, _config: Config) -> int:
    """List every driver, store and codec with its plugin and distribution."""
    plugins = get_plugins()
    rows = [
        {"kind": r.kind, "name": r.name, "plugin": r.plugin, "distribution": r.dist}
        for registry in (plugins.drivers(), plugins.stores(), plugins.codecs())
        for r in registry.values()
    ]
    failures = [{"plugin": f.plugin, "distribution": f.dist, "error": f.error} for f in plugins.failures]
    if args.json:
        emit_json({"plugins": rows, "failed": failures})
        return EXIT_OK
    print(
        table(
            [[r["kind"], r["name"], r["plugin"], r["distribution"]] for r in rows],
            ["KIND", "NAME", "PLUGIN", "DISTRIBUTION"],
        )
    )
    for failure in failures:
        print(f"failed to load plugin {failure['plugin']} ({failure['distribution']}): {failure['error']}")
    return EXIT_OK


COMMANDS = {
    "snapshot": cmd_snapshot,
    "list": cmd_list,
    "restore": cmd_restore,
    "verify": cmd_verify,
    "prune": cmd_prune,
    "plugins": cmd_plugins,
}


def _warn_about_visible_passwords(args: argparse.Namespace) -> None:
    urls = [getattr(args, "database", None), *getattr(args, "target", [])]
    if any(isinstance(u, str) and "://" in u and redact_url(u) != u for u in urls):
        logging.getLogger("dbsnap").warning(
            "dbsnap: warning: the database URL on the command line holds a password that other users can "
            "see in the process list; set DBSNAP_DATABASE_URL (or use a ~/.pgpass file) instead"
        )


def _setup_logging(debug: bool, verbose: bool) -> None:
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so children are killed and scratch removed as for Ctrl-C."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    hide_secrets()
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.debug, args.verbose)
    try:
        config = Config.from_env()
        _warn_about_visible_passwords(args)
        return COMMANDS[args.command](args, config)
    except KeyboardInterrupt as exc:
        print("dbsnap: interrupted; nothing half-written is left listed", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    except DbsnapError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"dbsnap: error: {scrub(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"dbsnap: error: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback, unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"dbsnap: error: unexpected {type(exc).__name__}: {scrub(str(exc))} "
            "(rerun with --debug for the traceback and report it)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
