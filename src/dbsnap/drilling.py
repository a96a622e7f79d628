"""drill(): restore the newest snapshot of a database into a scratch copy, check it, and record the outcome.

A drill is `verify --restore` of the newest snapshot plus the user's expectations (queries whose
single value must meet a condition). Its record is written beside the manifests, where `dbsnap check`
and the metrics read it; a failed drill fires the dbsnap_drill_failed hook, so notifiers hear of it.
"""

from __future__ import annotations

import logging
import operator
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from dbsnap.context import Context
from dbsnap.exceptions import ConfigError, DbsnapError, VerificationError
from dbsnap.listing import find, latest, target_identity
from dbsnap.redact import redact_url, scrub
from dbsnap.resolve import StoreArg, open_driver, open_stores
from dbsnap.stores.records import keep, record_of
from dbsnap.verifying import verify

log = logging.getLogger("dbsnap")
_CONDITION = re.compile(r"\s*(>=|<=|!=|==|=|>|<)\s*(-?\d+(?:\.\d+)?)\s*")
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, "<=": operator.le, "!=": operator.ne, "==": operator.eq, "=": operator.eq,
    ">": operator.gt, "<": operator.lt,
}  # fmt: skip


def parse_expectation(query: str, condition: str) -> tuple[str, str, float]:
    """Check an expectation: a query, and a condition such as ``>0``, ``=12`` or ``!=0``."""
    match = _CONDITION.fullmatch(condition)
    if not query.strip() or match is None:
        raise ConfigError(
            f"--expect {query!r} {condition!r}: give a query and a condition such as '>0', '=12', '>=1' "
            "or '!=0'"
        )
    return query, match.group(1), float(match.group(2))


def _judge(answers: dict[str, Any], expectations: list[tuple[str, str, float]]) -> list[dict[str, Any]]:
    results = []
    for query, op, number in expectations:
        value = answers.get(query)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and _COMPARE[op](value, number)
        results.append({"query": query, "condition": f"{op}{number:g}", "value": value, "ok": ok})
    return results


def drill(
    database: str | None = None,
    store: StoreArg = None,
    *,
    expect: Sequence[tuple[str, str]] = (),
    identity: str | None = None,
    config: Any = None,
    plugins: Any = None,
) -> dict[str, Any]:
    """Drill the newest snapshot of `database` on its server; return the record (raise if it failed).

    Raises VerificationError when the snapshot does not restore or an expectation does not hold,
    SnapshotNotFound when the database has no snapshot.
    """
    ctx = Context.of(config, plugins)
    url = database or ctx.config.database
    if not url:
        raise ConfigError("drill needs a DATABASE (or DBSNAP_DATABASE_URL) whose newest snapshot it restores")
    expectations = [parse_expectation(q, c) for q, c in expect]
    driver = open_driver(url, ctx.plugins)
    label = driver.label()
    try:
        stores = open_stores(store, ctx.config, ctx.plugins)
        newest = latest(stores, target_identity(driver), label, config=ctx.config, plugins=ctx.plugins)
        st, snap = find(newest.name, [s for s in stores if s.url == newest.store] or stores)
    except DbsnapError as exc:
        ctx.plugins.drill_failed(label, exc, None)
        raise
    started = time.monotonic()
    checks: dict[str, Any] = {}
    error: DbsnapError | None = None
    try:
        done = verify(snap, [st], restore_into=url, queries=[e[0] for e in expectations], identity=identity,
                      config=ctx.config, plugins=ctx.plugins, record=None)  # fmt: skip
        checks = done.checks
        judged = _judge(checks.get("restore", {}).pop("queries", {}), expectations)
        if judged:
            checks["expectations"] = judged
        broken = [j for j in judged if not j["ok"]]
        if broken:
            error = VerificationError(
                f"expected {broken[0]['query']!r} {broken[0]['condition']}, got {broken[0]['value']!r}"
            )
    except VerificationError as exc:
        error = exc
    record = record_of("drill", snap, ok=error is None, duration=time.monotonic() - started, checks=checks,
                       error=scrub(str(error)) if error else None)  # fmt: skip
    record["store"] = st.url
    record["target"] = redact_url(url)
    keep(st, record)
    ctx.plugins.drill_finished(record)
    if error is not None:
        ctx.plugins.drill_failed(label, error, st.url)
        raise error
    log.info("Database backup: drill of %s from %s passed", snap.name, st.url)
    return record
