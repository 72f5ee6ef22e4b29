"""The index returns exactly what testing every rule would, in priority order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.conditions import compile_condition
from rules.index import PatternMap, RuleIndex

FIELDS = ["data.a", "data.a", "data.b", "data.c.d"]
# Small domains, so that values often sit exactly on a bound or equal a constant.
values = st.one_of(st.integers(-2, 2), st.sampled_from(["x", "y"]), st.booleans(), st.none())
bounds = st.one_of(st.integers(-2, 2), st.sampled_from([-0.5, 1.0, "x", "y"]))
terms = st.one_of(
    st.builds(lambda f, v: {f: v}, st.sampled_from(FIELDS), values),
    st.builds(
        lambda op, f, v: {op: {f: v}},
        st.sampled_from(["$gt", "$gte", "$lt", "$lte"]),
        st.sampled_from(FIELDS),
        bounds,
    ),
    st.builds(lambda f, v: {"$neq": {f: v}}, st.sampled_from(FIELDS), values),
    st.builds(lambda f: {"$ex": {f: 1}}, st.sampled_from(FIELDS)),
)
conditions = st.one_of(
    st.none(),
    terms,
    st.lists(terms, min_size=2, max_size=4).map(lambda ts: {"$and": ts}),
    st.lists(terms, min_size=2, max_size=3).map(lambda ts: {"$or": ts}),
)
rules = st.lists(
    st.tuples(
        conditions,
        st.sampled_from(["*", "*", "order.*", "order.created", "user.?one"]),
        st.sampled_from(["*", "*", "shop", "sh*"]),
        st.integers(-2, 2),
    ),
    max_size=25,
)
data = st.fixed_dictionaries(
    {"a": values | bounds},
    optional={"b": values | bounds, "c": st.fixed_dictionaries({}, optional={"d": values})},
)
events = st.builds(
    lambda t, s, d: {"id": "1", "type": t, "source": s, "data": d},
    st.sampled_from(["order.created", "order.paid", "user.done"]),
    st.sampled_from(["shop", "bank"]),
    data,
)


def build(spec: list[tuple[Any, str, str, int]]) -> RuleIndex:
    index = RuleIndex()
    for i, (condition, kind, source, priority) in enumerate(spec):
        index.add(
            f"r{i:02d}",
            compile_condition(condition),
            event_type=kind,
            source=source,
            priority=priority,
        )
    return index


def brute_force(spec: list[tuple[Any, str, str, int]], event: dict[str, Any]) -> list[str]:
    from fnmatch import fnmatchcase

    hits = [
        (-priority, f"r{i:02d}")
        for i, (condition, kind, source, priority) in enumerate(spec)
        if fnmatchcase(event["type"], kind)
        and fnmatchcase(event["source"], source)
        and compile_condition(condition).test(event)
    ]
    return [rule_id for _, rule_id in sorted(hits)]


@settings(max_examples=200, deadline=None)
@given(spec=rules, batch=st.lists(events, min_size=1, max_size=5))
def test_index_matches_what_testing_every_rule_matches(spec: Any, batch: Any) -> None:
    index = build(spec)
    for event in batch:
        assert [e.rule_id for e in index.match(event)] == brute_force(spec, event)


@settings(max_examples=100, deadline=None)
@given(
    spec=rules,
    extra=st.tuples(
        conditions, st.sampled_from(["*", "order.*"]), st.just("*"), st.integers(-2, 2)
    ),
    event=events,
)
def test_adding_a_rule_never_changes_the_other_rules_matches(
    spec: Any, extra: Any, event: Any
) -> None:
    before = [e.rule_id for e in build(spec).match(event)]
    index = build(spec)
    index.add("zz-extra", compile_condition(extra[0]), event_type=extra[1], priority=extra[3])
    after = [e.rule_id for e in index.match(event) if e.rule_id != "zz-extra"]
    assert after == before


@settings(max_examples=100, deadline=None)
@given(spec=rules, removed=st.sets(st.integers(0, 24)), event=events)
def test_removing_rules_leaves_the_index_as_if_they_were_never_added(
    spec: Any, removed: set[int], event: Any
) -> None:
    index = build(spec)
    for i in removed:
        index.remove(f"r{i:02d}")
    kept = [
        (c, k, s, p) if i not in removed else (None, "never", "never", 0)
        for i, (c, k, s, p) in enumerate(spec)
    ]
    assert [e.rule_id for e in index.match(event)] == brute_force(kept, event)
    assert len(index) == len([i for i in range(len(spec)) if i not in removed])


@settings(max_examples=50, deadline=None)
@given(spec=rules, event=events)
def test_evaluation_is_deterministic_whatever_the_order_rules_were_added(
    spec: Any, event: Any
) -> None:
    forward = build(spec)
    backward = RuleIndex()
    for i, (condition, kind, source, priority) in reversed(list(enumerate(spec))):
        backward.add(
            f"r{i:02d}",
            compile_condition(condition),
            event_type=kind,
            source=source,
            priority=priority,
        )
    assert [e.rule_id for e in forward.match(event)] == [e.rule_id for e in backward.match(event)]


def test_range_bounds_are_inclusive_or_exclusive_as_the_operator_says() -> None:
    index = RuleIndex()
    for op in ("$gt", "$gte", "$lt", "$lte"):
        index.add(op, compile_condition({op: {"data.a": 1}}))
    hits = [(v, [e.rule_id for e in index.match({"data": {"a": v}})]) for v in (0, 1, 1.0, 2)]
    assert hits == [
        (0, ["$lt", "$lte"]),
        (1, ["$gte", "$lte"]),
        (1.0, ["$gte", "$lte"]),
        (2, ["$gt", "$gte"]),
    ]


def test_replacing_a_rule_refiles_it() -> None:
    index = RuleIndex()
    index.add("r", compile_condition({"data.a": 1}))
    index.add("r", compile_condition({"data.a": 2}))
    assert [e.rule_id for e in index.match({"type": "t", "source": "s", "data": {"a": 2}})] == ["r"]
    assert index.match({"type": "t", "source": "s", "data": {"a": 1}}) == []
    assert len(index) == 1


def test_malformed_events_match_nothing_but_unconditional_wildcards() -> None:
    index = RuleIndex()
    index.add("any", compile_condition(None))
    index.add("typed", compile_condition(None), event_type="order.*")
    index.add("cond", compile_condition({"$gt": {"data.a": 1}}))
    for event in ({}, {"type": 5}, {"type": "order.x", "data": [1]}, {"data": "text"}):
        assert [e.rule_id for e in index.match(event)] in (["any"], ["any", "typed"])


def test_pattern_map_is_a_glob_lookup_with_exact_names_hashed() -> None:
    patterns: PatternMap[list[str]] = PatternMap()
    patterns.get_or_add("order.*", list).append("glob")
    patterns.get_or_add("order.created", list).append("exact")
    assert sorted(x for v in patterns.lookup("order.created") for x in v) == ["exact", "glob"]
    assert [x for v in patterns.lookup("order.paid") for x in v] == ["glob"]
    patterns.discard("order.*")
    assert patterns.lookup("order.paid") == ()
