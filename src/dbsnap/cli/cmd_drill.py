"""`dbsnap drill`: restore each database's newest snapshot into a scratch copy and check it."""

from __future__ import annotations

import argparse
from typing import Any

from dbsnap.cli import exits
from dbsnap.cli.common import config, error_object, warn_visible_passwords
from dbsnap.drilling import drill, parse_expectation
from dbsnap.exceptions import ConfigError, DbsnapError, StoreMissing
from dbsnap.redact import redact_url, scrub


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Drill every database given (or the configured one); exit 3 if any drill failed."""
    settings = config()
    targets = list(args.database) or ([settings.database] if settings.database else [])
    if not targets:
        raise ConfigError("give the DATABASE to drill (its newest snapshot is restored on its server), "
                          "or set DBSNAP_DATABASE_URL")  # fmt: skip
    warn_visible_passwords(*targets)
    expect = [tuple(pair) for pair in args.expect or []]
    for query, condition in expect:
        parse_expectation(query, condition)  # a bad condition is a usage error before any restore
    drills: list[dict[str, Any]] = []
    document["drills"] = drills
    failed = 0
    for url in targets:
        try:
            record = drill(url, args.store, expect=expect, identity=args.identity, config=settings)
            drills.append({"database": redact_url(url), "ok": True, "record": record, "error": None})
            if not args.json:
                print(f"ok   {record['snapshot']} restored and checked on {redact_url(url)}")
        except (ConfigError, StoreMissing):
            raise  # a usage error or a mistyped store, not a failed drill
        except DbsnapError as exc:
            failed += 1
            drills.append(
                {"database": redact_url(url), "ok": False, "record": None, "error": scrub(str(exc))}
            )
            if not args.json:
                print(f"BAD  {redact_url(url)}  {scrub(str(exc))}")
    if failed:
        message = f"{failed} of {len(targets)} drill(s) failed"
        document["error"] = error_object(None, exits.VERIFICATION_FAILED, message)
        return exits.VERIFICATION_FAILED
    return exits.OK
