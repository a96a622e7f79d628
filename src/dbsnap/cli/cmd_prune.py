"""`dbsnap prune`: delete what a retention policy does not keep; an empty policy is refused."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from dbsnap.cli import exits
from dbsnap.cli.common import config, unread_stores
from dbsnap.config import Config
from dbsnap.durations import Duration
from dbsnap.exceptions import ConfigError
from dbsnap.output import prune_json, prune_text
from dbsnap.pruning import prune
from dbsnap.retention import PERIODS, Policy


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Prune by a retention policy."""
    settings = config()
    results = prune(
        args.store,
        _policy(args, settings),
        dry_run=args.dry_run,
        database=args.database,
        stale_after=_stale(args.stale_after),
        config=settings,
    )
    document.update(prune_json([r for r in results if r.error is None]))
    document["unreadable"] = unread_stores({r.store: r.error for r in results if r.error is not None})
    if not args.json:
        print(prune_text([r for r in results if r.error is None]))
    return exits.PARTIAL if document["unreadable"] else exits.OK


def _policy(args: argparse.Namespace, settings: Config) -> Policy:
    """The flags' policy; without flags the configured one, which must say something."""
    rules: dict[str, Any] = {}
    for rule in ("last", *PERIODS):
        if getattr(args, f"keep_{rule}") is not None:
            rules[f"keep_{rule}"] = getattr(args, f"keep_{rule}")
    for rule in ("", *(f"_{p}" for p in PERIODS)):
        if getattr(args, f"keep_within{rule}") is not None:
            rules[f"keep_within{rule}"] = getattr(args, f"keep_within{rule}")
    if rules:
        return Policy(**rules, tz=args.tz or settings.policy.tz)
    if not settings.policy_given:
        raise ConfigError(
            "prune needs a retention policy and none is given: pass --keep-last N (or --keep-daily N, "
            "--keep-within 30d...), or set DBSNAP_KEEP_LAST (or BACKUP_RETENTION_COUNT)"
        )
    return settings.policy if args.tz is None else attrs_evolve_tz(settings.policy, args.tz)


def attrs_evolve_tz(policy: Policy, tz: str) -> Policy:
    """The same policy in another calendar."""
    import attrs

    return attrs.evolve(policy, tz=tz)


def _stale(value: str) -> timedelta:
    parsed = Duration.parse(value)
    if parsed.years or parsed.months:
        raise ConfigError(f"--stale-after {value!r}: give days and hours only, e.g. 1h or 2d")
    return parsed.delta
