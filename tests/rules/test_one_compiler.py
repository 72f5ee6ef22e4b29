"""One compiler: whatever the validator accepts, the worker compiles (issue: a rule with a
regex the API took with 201 crashed the worker on every restart).

The validator (`schemas.validation`) and the worker (`rules.compile_rule`) parse conditions
with the same parser and compile regexes and CEL with the same functions; these properties
generate conditions, regexes and expressions, hostile ones included, and check that the two
never disagree in the dangerous direction.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import compile_condition, compile_rule
from schemas.definitions import check_condition
from schemas.validation import validate_rule

# Catastrophic on a backtracking engine, refused by RE2, or merely odd.
REGEXES = [
    "(a+)+$", "(a|a)+$", "(a|aa)+$", r"(\w|a)+$", "(a*)*b", "(.*a){20}", "x+x+x+y",
    "(?=a)a", r"(a)\1", "(?<=a)b", "(?P<n>a)(?P=n)", "a{1001}", "(a{100}){100}", "[",
    "(?i)vip-.*", r"\p{L}+", "[[:alpha:]]+", "", "a|", "\\", r"\d{3}-\d{4}", "\ud800",
]
# Linear, quadratic, cubic, growing, wrong, or naming what a condition cannot see.
EXPRESSIONS = [
    "event.data.a > 1", "size(event.data.items) > 2", "event.data.s.matches('(a|aa)+$')",
    "event.data.items.map(x, x * 2).size() > 0",
    "event.data.items.map(x, event.data.items.map(y, y)).size() > 0",
    "event.data.items.all(x, event.data.items.all(y, event.data.items.all(z, z > 0)))",
    "event.data.items.map(x, event.data.items.map(y, event.data.items + event.data.items))",
    "event.data.s.replace('a', event.data.s) == ''", "event.data.s + event.data.s == ''",
    "item > 1", "input.a", "event.", "unknownFn(event)", "", "has(event.data.x)",
]
# Mostly valid, so that many generated conditions pass validation and reach the worker.
FIELDS = ["a", "data.x", "data.items", "data.s", "$i", "$i.k"] * 3 + ["x.$i", ".a", "a..b", "$gt"]
OPERATORS = ["$eq", "$neq", "$gt", "$gte", "$lt", "$lte", "$ex", "$nex"] * 2 + ["$foo", "$add"]
scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=3)
operands = scalars | st.lists(scalars, max_size=2) | st.builds(lambda f: {"$m": f}, st.sampled_from(FIELDS))
regexes = st.sampled_from(REGEXES) | st.text(alphabet="a()|+*?\\1[]{}^$.=!<>wd", max_size=12)
expressions = st.sampled_from(EXPRESSIONS) | st.sampled_from(EXPRESSIONS) | st.text(max_size=20)


def _leaf() -> st.SearchStrategy[Any]:
    field = st.sampled_from(FIELDS)
    return st.one_of(
        st.dictionaries(field, scalars, min_size=1, max_size=1),
        st.dictionaries(field, scalars, min_size=2, max_size=2),
        st.builds(lambda op, f, v: {op: {f: v}}, st.sampled_from(OPERATORS), field, operands),
        st.builds(lambda op, f, p: {op: {f: p}}, st.sampled_from(["$mt", "$imt"]), field, regexes),
        st.builds(lambda src: {"$expr": src}, expressions),
    )


conditions = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(lambda op, parts: {op: parts}, st.sampled_from(["$and", "$or"]),
                  st.lists(inner, max_size=3)),
        st.builds(lambda op, f, c: {op: {f: c}}, st.sampled_from(["$iany", "$iall"]),
                  st.sampled_from(FIELDS), inner),
    ),
    max_leaves=6,
)
events = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["a", "x", "k", "items", "data"]), inner,
                                        max_size=3), max_leaves=10)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition=conditions, event=events)
def test_a_condition_the_validator_accepts_compiles_and_never_raises(
        condition: Any, event: Any) -> None:
    if check_condition(condition):
        return
    compiled = compile_condition(condition)  # must not raise
    result = compiled.test(event)
    assert isinstance(result, bool)
    assert (compiled.explain(event) is None) is result


def _rule(condition: Any, expression: str) -> dict[str, Any]:
    return {
        "kind": "rule", "id": "r", "name": "R", "trigger": {"event_type": "t"},
        "conditions": condition,
        "actions": [{"type": "publish_event", "event_type": "out",
                     "data": {"v": "${ " + expression + " }"}}],
    }


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(condition=conditions, expression=expressions)
def test_a_rule_the_validator_accepts_the_worker_compiles(condition: Any, expression: str) -> None:
    report = validate_rule(_rule(condition, expression))
    if not report.ok:
        return
    assert report.definition is not None
    compile_rule(report.definition)  # must not raise


def test_the_issue_rule_is_one_answer_from_both() -> None:
    """`(a+)+$` was 201 at the API and a crash in the worker; now both run it on RE2."""
    rule = _rule({"$mt": {"data.s": "(a+)+$"}}, "event.data.s")
    report = validate_rule(rule)
    assert report.ok
    compiled = compile_rule(report.definition)  # type: ignore[arg-type]
    hostile = {"data": {"s": "a" * 100_000 + "!"}}
    assert compiled.condition.test(hostile) is False  # answered, in linear time
    assert compiled.condition.test({"data": {"s": "aaaa"}}) is True


def test_what_re2_cannot_run_is_refused_by_both_with_a_path_and_reason() -> None:
    rule = _rule({"$and": [{"data.a": 1}, {"$mt": {"data.s": r"(a)\1"}}]}, "event.data.s")
    report = validate_rule(rule)
    assert not report.ok
    (problem,) = report.errors
    assert problem.path == '$.conditions["$and"][1]["$mt"]["data.s"]'
    assert problem.code == "invalid_regex" and "RE2" in problem.message
