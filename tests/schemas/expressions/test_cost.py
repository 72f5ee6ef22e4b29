"""Bounded expressions: the cost budget holds before evaluation, whatever the input.

The costly classes the issue measured (a map of a list inside a map of the same list over
300-400 items: 30-100 s and a gigabyte) must fail with `expression_too_costly` without
running; string and list growth likewise; and what is cheap keeps its answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from schemas.expressions import (
    COST_BUDGET,
    GUARANTEED_NODES,
    GUARANTEED_RANGE,
    ExpressionError,
    Shape,
    compile_expression,
)
from schemas.validation import validate_workflow


def _error(source: str, context: dict[str, Any]) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source).evaluate(context)
    return caught.value


@pytest.mark.parametrize("items", [300, 400])
@pytest.mark.parametrize(
    "source",
    [
        "input.items.map(x, input.items.map(y, y))",  # the 30 s / 659 MB
        "input.items.map(x, input.items.filter(y, y == x))",
        "input.items.all(x, input.items.all(y, y >= 0))",
        "input.items.exists(x, input.items.exists(y, y < 0))",
        "input.items.map(x, input.items + input.items)",  # list growth
        "input.items.map(x, input.items[0])",  # a read inside: a clone per iteration
    ],
)
def test_nested_comprehensions_over_hundreds_of_items_are_refused_before_running(
        source: str, items: int) -> None:
    error = _error(source, {"input": {"items": list(range(items))}})
    assert error.code == "expression_too_costly"
    assert str(COST_BUDGET) in error.message


def test_string_growth_is_refused() -> None:
    text = "a" * 100_000
    grown = _error("input.s.replace('a', input.s)", {"input": {"s": text}})
    assert grown.code == "expression_too_costly"  # 10^10 characters, refused before building
    concat = "+".join(["input.s"] * 40)
    assert _error(concat, {"input": {"s": "x" * 1_000_000}}).code == "expression_too_costly"


def test_single_comprehensions_over_long_lists_are_bounded_too() -> None:
    # map/filter copy their accumulator: quadratic in the binding, so a bound applies.
    assert _error("input.items.map(x, x * 2)", {"input": {"items": list(range(5000))}}).code \
        == "expression_too_costly"


@pytest.mark.parametrize(
    ("source", "context", "expected"),
    [
        ("input.items.map(x, input.items.map(y, y)).size()", {"input": {"items": [1, 2, 3]}}, 3),
        ("input.items.map(x, x * 2)", {"input": {"items": list(range(400))}},
         [2 * i for i in range(400)]),
        ("input.items.exists(x, x == 4999)", {"input": {"items": list(range(5_000))}}, True),
        ("input.s.replace('a', 'bb')", {"input": {"s": "aXa"}}, "bbXbb"),
        # An unread, large part of the context neither costs nor counts.
        ("steps.a.output.ok", {"steps": {"a": {"output": {"ok": True, "big": list(range(50_000))}},
                                         "b": {"output": list(range(40_000))}}}, True),
    ],
)
def test_what_is_cheap_keeps_its_answer(source: str, context: dict[str, Any], expected: Any) -> None:
    assert compile_expression(source).evaluate(context) == expected


def test_a_macro_variable_named_like_a_context_name_still_sees_the_context() -> None:
    # `input` is bound by the macro in part of the source: the whole input is passed.
    source = "input.items.map(input, input * 2)"
    assert compile_expression(source).evaluate({"input": {"items": [1, 2]}}) == [2, 4]


def test_the_static_bound_refuses_at_compile_time_what_the_guaranteed_shape_exceeds() -> None:
    inner = "input.items.map(y, input.items.map(z, z))"
    with pytest.raises(ExpressionError) as caught:
        compile_expression(f"input.items.map(x, {inner}.size() + {inner}.size())")
    assert caught.value.code in ("expression_too_costly", "too_deep")
    cheap = compile_expression("input.items.map(x, input.items.map(y, y))")
    assert cheap.cost(Shape(GUARANTEED_NODES, GUARANTEED_RANGE, 1024)) <= COST_BUDGET


def test_validation_refuses_a_costly_expression_with_its_path() -> None:
    costly = " || ".join(f"input.items.all(x, input.items.all(y, y > {i}))" for i in range(8))
    report = validate_workflow({
        "kind": "workflow", "id": "w", "name": "W",
        "steps": [{"id": "a", "action": "log", "with": {"message": "${ " + costly + " }"}}],
    })
    assert [(p.path, p.code) for p in report.errors] == [
        ("$.steps[0].with.message", "invalid_expression")]
    assert "expression_too_costly" in report.errors[0].message
