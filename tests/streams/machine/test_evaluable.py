"""The fast path for plain reads gives exactly what CEL gives: the same value or the same error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.expressions import ExpressionError, compile_expression, compile_mapping
from streams.machine.evaluable import Evaluable

KEYS = st.sampled_from(["a", "b", "id", "in", "x1", "_y"])
SCALARS = (st.none() | st.booleans() | st.integers(-(2**64), 2**64)
           | st.floats(allow_nan=False) | st.text(max_size=5))


def json_values(keys_per_object: int) -> st.SearchStrategy[Any]:
    return st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(KEYS, inner, max_size=keys_per_object), max_leaves=8)


VALUES = json_values(3)
# CEL writes an object's keys in arbitrary order (it differs call to call), so where an
# object becomes text inside a template, only one-key objects compare.
TEXT_SAFE_VALUES = json_values(1)
ROOTS = st.sampled_from(["input", "vars", "output", "item", "now", "steps", "size", "true"])
PATHS = st.builds(lambda root, keys: ".".join([root, *keys]), ROOTS, st.lists(KEYS, max_size=3))


def contexts(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"input": values, "vars": st.dictionaries(KEYS, values, max_size=1), "item": values,
         "steps": st.just({"a": {"output": {"id": 7}}}),
         "now": st.just(datetime(2024, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC))},
        optional={"output": values},
    )


LITERALS = st.sampled_from(["'/x'", '"+y"', "''", "'}'", "'a\\'b'"])
SUMS = st.lists(PATHS | LITERALS, min_size=1, max_size=3).map(" + ".join)
PIECE = SUMS.map(lambda source: "${ " + source + " }")
STRINGS = st.lists(PIECE | st.sampled_from(["/", "$", "$${ x }", " ", "${ 1 + 2 }", "id="]),
                   min_size=1, max_size=4).map("".join)
MAPPINGS = st.recursive(STRINGS | SCALARS, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(KEYS, inner, max_size=3), max_leaves=6)


def typed(value: Any) -> Any:
    """``value`` with every type spelled out (2**64 and 2.0**64 are equal, but not alike)."""
    if isinstance(value, dict):
        return "dict", sorted((k, typed(v)) for k, v in value.items())
    if isinstance(value, list):
        return "list", [typed(v) for v in value]
    return type(value).__name__, value


def outcome(fn: Any, context: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "value", typed(fn(context))
    except ExpressionError as exc:
        return "error", (exc.code, exc.message)


@settings(max_examples=200, deadline=None)
@given(source=MAPPINGS, context=contexts(TEXT_SAFE_VALUES))
def test_a_mapping_renders_as_cel_renders_it(source: Any, context: dict[str, Any]) -> None:
    expected = outcome(lambda c: compile_mapping(source).render(c), context)
    assert outcome(Evaluable(source, mapping=True), context) == expected


@settings(max_examples=200, deadline=None)
@given(source=SUMS, context=contexts(VALUES))
def test_an_expression_evaluates_as_cel_evaluates_it(source: str, context: dict[str, Any]) -> None:
    try:
        compile_expression(source)
    except ExpressionError:
        return
    expected = outcome(lambda c: compile_expression(source).evaluate(c), context)
    assert outcome(Evaluable(source, mapping=False), context) == expected


@pytest.mark.parametrize(("source", "value"), [
    ("${ input.id }", 7),
    ("${ input }", {"id": 7, "tags": ["a"], "big": float(2**64), "base": "https://x",
                    "name": "n"}),
    ("orders/${ input.id }/${ input.tags }", 'orders/7/["a"]'),
    ("${ now }", "2024-01-02T03:04:05.600000Z"),
    ("${ input.big }", float(2**64)),
    ("${ input.base + '/orders/' + input.name }", "https://x/orders/n"),
    ({"a": ["${ input.id }", 1, "x"]}, {"a": [7, 1, "x"]}),
])
def test_plain_reads_give_json(source: Any, value: Any) -> None:
    context = {"input": {"id": 7, "tags": ["a"], "big": 2**64, "base": "https://x", "name": "n"},
               "now": datetime(2024, 1, 2, 3, 4, 5, 600_000, tzinfo=UTC)}
    assert typed(Evaluable(source, mapping=True)(context)) == typed(value)


def test_a_missing_key_fails_with_cels_error() -> None:
    with pytest.raises(ExpressionError) as caught:
        Evaluable("${ input.nope }", mapping=True)({"input": {}})
    assert caught.value.code == "evaluation_error"


def test_a_context_too_large_is_refused_even_for_a_plain_read() -> None:
    huge = {"input": {"rows": list(range(200_000)), "id": 1}}
    with pytest.raises(ExpressionError) as caught:
        Evaluable("${ input.id }", mapping=True)(huge)
    assert caught.value.code == "input_too_large"
