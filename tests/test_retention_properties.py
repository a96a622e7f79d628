"""Properties of retention.plan() that must hold for every timeline and policy."""

from __future__ import annotations

import attrs
from hypothesis import given, note
from hypothesis import strategies as st

from dbsnap.durations import Duration
from dbsnap.retention import PERIODS, Policy, plan
from tests.strategies import BASE, Item, policies, timelines

NOW = BASE


def names(items: list[Item]) -> set[str]:
    return {i.name for i in items}


@given(timelines(future=True), policies())
def test_keep_and_remove_partition_the_input(items: list[Item], policy: Policy) -> None:
    result = plan(items, policy, now=NOW)
    assert len(result.keep) + len(result.remove) == len(items)
    assert names(result.keep) | names(result.remove) == names(items)
    assert not names(result.keep) & names(result.remove)
    for part in (result.keep, result.remove):
        order = [(i.created_at, i.name) for i in part]
        assert order == sorted(order, reverse=True)


@given(timelines(future=True), policies())
def test_every_kept_snapshot_has_a_reason_and_removed_none(items: list[Item], policy: Policy) -> None:
    result = plan(items, policy, now=NOW)
    assert all(result.reasons(i) for i in result.keep)
    assert not any(result.reasons(i) for i in result.remove)


@given(timelines(future=True), policies())
def test_planning_the_kept_set_removes_nothing(items: list[Item], policy: Policy) -> None:
    first = plan(items, policy, now=NOW)
    assert plan(first.keep, policy, now=NOW).remove == []


@given(timelines(future=True), policies(), st.data())
def test_an_interrupted_prune_reruns_to_the_same_result(
    items: list[Item], policy: Policy, data: st.DataObject
) -> None:
    first = plan(items, policy, now=NOW)
    done = data.draw(st.sets(st.sampled_from(first.remove)) if first.remove else st.just(set()))
    rest = [i for i in items if i not in done]
    again = plan(rest, policy, now=NOW)
    assert names(again.remove) == names(first.remove) - names(list(done))
    assert names(again.keep) == names(first.keep)


@given(timelines(future=True), policies(), st.sampled_from(("last", *PERIODS)), st.integers(1, 10))
def test_raising_a_count_never_removes_more(items: list[Item], policy: Policy, rule: str, more: int) -> None:
    field = f"keep_{rule}"
    current = getattr(policy, field)
    for bigger in ((current + more) if current >= 0 else -1, -1):
        wider = attrs.evolve(policy, **{field: bigger})  # type: ignore[arg-type]
        note(f"{field}: {current} -> {bigger}")
        assert names(plan(items, wider, now=NOW).keep) >= names(plan(items, policy, now=NOW).keep)


@given(
    timelines(future=True),
    policies(),
    st.sampled_from(["", *(f"_{p}" for p in PERIODS)]),
    st.sampled_from(["1h", "2d", "1m", "1y"]),
)
def test_lengthening_a_window_never_removes_more(
    items: list[Item], policy: Policy, rule: str, extra: str
) -> None:
    field = f"keep_within{rule}"
    current: Duration | None = getattr(policy, field)
    add = Duration.parse(extra)
    longer = (
        add
        if current is None
        else Duration(current.years + add.years, current.months + add.months, current.delta + add.delta)
    )
    wider = attrs.evolve(policy, **{field: longer})  # type: ignore[arg-type]
    assert names(plan(items, wider, now=NOW).keep) >= names(plan(items, policy, now=NOW).keep)


@given(timelines(), policies())
def test_the_newest_is_always_kept(items: list[Item], policy: Policy) -> None:
    if items:
        newest = max(items, key=lambda i: (i.created_at, i.name))
        assert newest in plan(items, policy, now=NOW).keep


@given(timelines(), st.integers(1, 80))
def test_keep_last_alone_keeps_exactly_the_newest_n(items: list[Item], n: int) -> None:
    result = plan(items, Policy(keep_last=n), now=NOW)
    expected = sorted(items, key=lambda i: (i.created_at, i.name), reverse=True)[: min(n, len(items))]
    assert result.keep == expected


@given(timelines(future=True), policies(unlimited=False, with_windows=False))
def test_without_unlimited_or_windows_keep_is_bounded_by_the_counts(
    items: list[Item], policy: Policy
) -> None:
    result = plan(items, policy, now=NOW)
    future = [i for i in result.keep if result.reasons(i) == ("in the future",)]
    total = sum(getattr(policy, f"keep_{r}") for r in ("last", *PERIODS))
    assert len(result.keep) - len(future) <= total


@given(timelines(future=True), policies(), st.data())
def test_splitting_the_rules_and_uniting_the_keeps_changes_nothing(
    items: list[Item], policy: Policy, data: st.DataObject
) -> None:
    fields = [
        f.name for f in attrs.fields(Policy) if f.name != "tz" and getattr(policy, f.name) not in (0, None)
    ]
    left_fields = data.draw(st.sets(st.sampled_from(fields)) if fields else st.just(set()))
    right_fields = set(fields) - left_fields
    if not left_fields or not right_fields:
        return
    blank = {f: (None if f.startswith("keep_within") else 0) for f in fields}
    left = attrs.evolve(policy, **{**blank, **{f: getattr(policy, f) for f in left_fields}})
    right = attrs.evolve(policy, **{**blank, **{f: getattr(policy, f) for f in right_fields}})
    united = names(plan(items, left, now=NOW).keep) | names(plan(items, right, now=NOW).keep)
    assert united == names(plan(items, policy, now=NOW).keep)


@given(timelines(future=True), policies(), st.randoms())
def test_the_input_order_does_not_matter(items: list[Item], policy: Policy, random: object) -> None:
    shuffled = list(items)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    first = plan(items, policy, now=NOW)
    second = plan(shuffled, policy, now=NOW)
    assert first.keep == second.keep
    assert [first.reasons(i) for i in first.keep] == [second.reasons(i) for i in second.keep]
