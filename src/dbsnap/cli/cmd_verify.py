"""`dbsnap verify`: re-hash snapshots (and with --restore, restore a scratch copy); exit 3 if any is bad."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dbsnap.cli import exits
from dbsnap.cli.common import close, config, error_object, progress, unread_stores, warn_visible_passwords
from dbsnap.exceptions import ConfigError, DbsnapError, VerificationError
from dbsnap.output import verify_line
from dbsnap.plugins import get_plugins
from dbsnap.redact import scrub
from dbsnap.resolve import open_stores
from dbsnap.verifying import verify


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Verify one or all snapshots; with --restore, by restoring into a scratch database."""
    settings = config()
    positional = list(args.target)
    name = None if args.all else (positional.pop(0) if positional else None)
    if (name is None) != bool(args.all) or len(positional) > (1 if args.restore else 0):
        raise ConfigError("give a snapshot NAME to verify, or --all; DATABASE only with --restore")
    scratch_on = (positional[0] if positional else settings.database) if args.restore else None
    if args.restore and not scratch_on:
        raise ConfigError(
            "--restore needs a DATABASE (or DBSNAP_DATABASE_URL) whose server gets the scratch copy"
        )
    warn_visible_passwords(scratch_on)
    stores = open_stores(args.store, settings, get_plugins())
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
    document["results"] = results
    for item, where in targets:
        bar = progress(args, f"verify {item}")
        shown = {"name": item, "store": where.url if not isinstance(where, list) else None}
        try:
            done = verify(
                item, where, restore_into=scratch_on, config=settings, progress=bar, identity=args.identity
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
            close(bar)
    document["unreadable"] = unread_stores(unread)
    if not args.json:
        for result in results:
            print(verify_line(result))
        if not results:
            print("no snapshots to verify", file=sys.stderr)
    bad = [r for r in results if not r["ok"]]
    if bad:
        document["error"] = error_object(
            VerificationError(), exits.VERIFICATION_FAILED, f"{len(bad)} of {len(results)} snapshot(s) failed"
        )
        return exits.VERIFICATION_FAILED
    return exits.PARTIAL if unread else exits.OK
