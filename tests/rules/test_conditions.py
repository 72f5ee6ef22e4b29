"""Conditions: durable_rules JSON semantics, typed comparison, and never raising."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.conditions import ConditionError, compile_condition
from rules.values import equality_key, json_equal


def holds(condition: dict[str, Any], data: Any) -> bool:
    return compile_condition(condition).test(data)


@pytest.mark.parametrize(
    ("condition", "match", "miss"),
    [
        ({"a": 5}, {"a": 5.0}, {"a": 6}),
        ({"$eq": {"a": "x"}}, {"a": "x"}, {"a": "X"}),
        ({"a": None}, {"a": None}, {}),
        ({"a": True}, {"a": True}, {"a": 1}),
        ({"$gt": {"a": 5}}, {"a": 5.5}, {"a": 5}),
        ({"$gte": {"a": 5}}, {"a": 5}, {"a": 4.99}),
        ({"$lt": {"a": "m"}}, {"a": "b"}, {"a": "z"}),
        ({"$lte": {"a": 0}}, {"a": -1}, {"a": 1}),
        ({"$neq": {"a": 5}}, {"a": 6}, {"a": 5}),
        ({"$ex": {"a": 1}}, {"a": None}, {"b": 1}),
        ({"$nex": {"a": 1}}, {"b": 1}, {"a": None}),
        ({"$mt": {"a": "ab+"}}, {"a": "abbb"}, {"a": "xabb"}),
        ({"$imt": {"a": "ab+"}}, {"a": "ABB"}, {"a": "ABBA"}),
        ({"a.b.c": 1}, {"a": {"b": {"c": 1}}}, {"a": {"b": 1}}),
        ({"$iany": {"t": {"$i": "x"}}}, {"t": ["y", "x"]}, {"t": ["y"]}),
        ({"$iall": {"t": {"$gt": {"$i": 2}}}}, {"t": [3, 4]}, {"t": [3, 1]}),
        ({"$iany": {"t": {"$i.k": 1}}}, {"t": [{"k": 1}]}, {"t": [{"k": 2}, 1]}),
        ({"$and": [{"a": 1}, {"$lt": {"b": 2}}]}, {"a": 1, "b": 1}, {"a": 1, "b": 2}),
        ({"$or": [{"a": 1}, {"b": 2}]}, {"b": 2}, {"a": 2}),
        ({"$gt": {"a": {"$m": "b"}}}, {"a": 3, "b": 2}, {"a": 2, "b": 2}),
        ({"a": {"$m": "b"}}, {"a": 1, "b": 1.0}, {"a": 1, "b": True}),
        ({"$expr": "event.a + event.b == 3"}, {"a": 1, "b": 2}, {"a": 1, "b": 1}),
    ],
)
def test_operators_match_and_miss(condition: dict[str, Any], match: Any, miss: Any) -> None:
    assert holds(condition, match)
    assert not holds(condition, miss)


def test_json_typing_keeps_strings_numbers_and_booleans_apart() -> None:
    # durable_rules coerces "5" == 5 and false < 5; a JSON engine must not.
    assert not holds({"a": 5}, {"a": "5"})
    assert not holds({"a": 1}, {"a": True})
    assert not holds({"$lt": {"a": 5}}, {"a": False})
    assert not holds({"$gt": {"a": 5}}, {"a": "abc"})
    assert holds({"$neq": {"a": 5}}, {"a": "5"})


def test_empty_iall_and_unknown_neq_do_not_match() -> None:
    assert not holds({"$iall": {"t": {"$gt": {"$i": 0}}}}, {"t": []})
    assert not holds({"$neq": {"a": 5}}, {})
    assert not holds({"$neq": {"a": 5}}, {"a": None})


def test_no_condition_matches_everything() -> None:
    assert compile_condition(None).test({"anything": 1})
    assert compile_condition({}).test(None)


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ({"$gt": {"amount": 100}}, "$.amount: 50 is not > 100"),
        ({"$gt": {"amount": 100}}, None),
        ({"country": "FR"}, "$.country: missing"),
    ],
)
def test_explain_names_the_field_and_why(condition: dict[str, Any], reason: str | None) -> None:
    data = {"amount": 50} if reason != "$.country: missing" else {}
    if reason is None:
        assert compile_condition(condition).explain({"amount": 150}) is None
    else:
        assert compile_condition(condition).explain(data) == reason


@pytest.mark.parametrize(
    "condition",
    [
        {"$foo": {"a": 1}},
        {"$gt": {"a": True}},
        {"$gt": {"a": 1, "b": 2}},
        {"$and": []},
        {"$mt": {"a": "(?=a)a"}},
        {"$mt": {"a": "(a)\\1"}},
        {"$mt": {"a": "("}},
        {"$i": 1},
        {"$expr": "event.a +"},
    ],
)
def test_invalid_conditions_are_refused_at_compile_time(condition: dict[str, Any]) -> None:
    with pytest.raises(ConditionError):
        compile_condition(condition)


def test_expr_error_is_a_non_match_with_a_reason() -> None:
    compiled = compile_condition({"$expr": "event.a > 3"})
    assert not compiled.test({"a": "text"})
    assert "$expr" in (compiled.explain({"a": "text"}) or "")


def test_equality_key_separates_json_types() -> None:
    assert equality_key(5) == equality_key(5.0)
    assert equality_key(True) != equality_key(1)
    assert equality_key(None) != equality_key(0)
    assert json_equal([1, {"a": 2.0}], [1.0, {"a": 2}])
    assert not json_equal([True], [1])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4)
    ),
    max_leaves=20,
)
events = (
    st.dictionaries(st.sampled_from(["a", "b", "t", "x"]), json_values, max_size=4) | json_values
)

CONDITIONS = [
    {"a": 5},
    {"a": "x"},
    {"a": None},
    {"a": True},
    {"a.b": 1},
    {"$gt": {"a": 1}},
    {"$lte": {"a.b": "m"}},
    {"$neq": {"a": 1}},
    {"$ex": {"a.b.c": 1}},
    {"$nex": {"a": 1}},
    {"$mt": {"a": "x.*"}},
    {"$iany": {"t": {"$gt": {"$i": 1}}}},
    {"$iall": {"t": {"$i.k": "v"}}},
    {"$or": [{"a": 1}, {"$lt": {"b": 0}}]},
    {"$gt": {"a": {"$m": "b"}}},
    {"$expr": "event.a > 1"},
]


@settings(max_examples=300, deadline=None)
@given(event=events, condition=st.sampled_from(CONDITIONS))
def test_a_condition_never_raises_on_any_json(event: Any, condition: dict[str, Any]) -> None:
    compiled = compile_condition(condition)
    result = compiled.test(event)
    assert isinstance(result, bool)
    assert (compiled.explain(event) is None) is result
