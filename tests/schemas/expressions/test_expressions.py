"""CEL expressions: what mappings and conditions rely on."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.expressions import (
    MAX_INPUT_NODES,
    ExpressionError,
    check_context,
    compile_expression,
    compile_mapping,
    mapping_expressions,
    mapping_variables,
    render_mapping,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


def test_expression_reads_the_context() -> None:
    expr = compile_expression("input.amount * 2 > vars.limit && 'vip' in input.tags")
    assert expr.evaluate({"input": {"amount": 60, "tags": ["vip"]}, "vars": {"limit": 100}})
    assert expr.variables == {"input", "vars"}
    assert expr.vars_read == {"limit"}


def test_compile_is_cached_by_source() -> None:
    assert compile_expression("1 + 2") is compile_expression("1 + 2")


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("input.x >", "syntax_error"),
        ("", "syntax_error"),
        ("x" * 5000, "too_long"),
        ("(" * 40 + "1" + ")" * 40, "too_deep"),
        ("a.map(x, x.map(y, y.map(z, z)))", "too_deep"),
        ("open('/etc/passwd')", "unknown_function"),
        ("__import__('os')", "unknown_function"),
    ],
)
def test_bad_source_is_refused_with_a_code(source: str, code: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert caught.value.code == code


def test_python_objects_and_attributes_are_out_of_reach() -> None:
    class Secret:
        token = "s3cr3t"

    with pytest.raises(ExpressionError) as caught:
        compile_expression("input.token").evaluate({"input": Secret()})
    assert caught.value.code == "unsupported_value"
    with pytest.raises(ExpressionError):
        compile_expression("input.__class__").evaluate({"input": {"a": 1}})


def test_oversized_input_is_refused() -> None:
    big = {"input": {"items": list(range(MAX_INPUT_NODES + 1))}}
    with pytest.raises(ExpressionError) as caught:
        check_context(big)
    assert caught.value.code == "input_too_large"
    # Evaluation refuses it sooner, on the cost bound, without walking all of it.
    with pytest.raises(ExpressionError) as caught:
        compile_expression("size(input.items)").evaluate(big)
    assert caught.value.code == "expression_too_costly"


def test_macro_loop_variables_are_not_context_names() -> None:
    expr = compile_expression("input.items.filter(i, i > 1).map(j, j * steps.a.output)")
    assert expr.variables == {"input", "steps"}
    assert expr.steps_read == {"a"}


def test_results_are_json_compatible() -> None:
    now = dt.datetime(2024, 5, 1, 12, tzinfo=dt.UTC)
    assert compile_expression("now").evaluate({"now": now}) == "2024-05-01T12:00:00Z"
    assert compile_expression("duration('90s')").evaluate({}) == 90.0
    assert compile_expression("now + duration('1h') > now").evaluate({"now": now}) is True


def test_extension_functions_work() -> None:
    assert compile_expression("lowerAscii(input.s)").evaluate({"input": {"s": "AbC"}}) == "abc"
    assert compile_expression("max([3, 9, 2])").evaluate({}) == 9


def test_mapping_renders_typed_values_and_text() -> None:
    mapping = {
        "count": "${ size(input.items) }",
        "greeting": "Hello ${ input.name }, you have ${ size(input.items) } items",
        "flag": "${input.vip}",
        "nested": [{"raw": "${ input.items }"}, 5, None],
        "literal": "costs $5 and $${ not an expression }",
    }
    context = {"input": {"items": [1, 2], "name": "Ada", "vip": True}}
    assert render_mapping(mapping, context) == {
        "count": 2,
        "greeting": "Hello Ada, you have 2 items",
        "flag": True,
        "nested": [{"raw": [1, 2]}, 5, None],
        "literal": "costs $5 and ${ not an expression }",
    }
    assert mapping_variables(mapping) == {"input"}


def test_interpolated_non_strings_are_json_text() -> None:
    assert render_mapping("v=${ input.v }", {"input": {"v": [1, None]}}) == "v=[1,null]"


def test_braces_inside_an_expression_do_not_end_it() -> None:
    assert render_mapping("${ {'a': input.x}['a'] }", {"input": {"x": 7}}) == 7


def test_mapping_expressions_have_json_paths() -> None:
    found = list(mapping_expressions({"a": ["${ x }", {"b c": "${ y } ${ z"}]}, "$.with"))
    assert found == [("$.with.a[0]", "x"), ('$.with.a[1]["b c"]', "${ y } ${ z")]


def test_compile_mapping_fails_on_the_first_bad_expression() -> None:
    with pytest.raises(ExpressionError):
        compile_mapping({"ok": "${ 1 }", "bad": "${ 1 + }"})


@settings(max_examples=200, deadline=None)
@given(data=json_values)
def test_a_condition_never_raises_foreign_errors_on_any_json(data: Any) -> None:
    sources = [
        "input.a.b > 1",
        "size(input) > 0",
        "input == null",
        "input.x + 1",
        "input.map(x, x)",
        "string(input)",
        "int(input)",
        "input[0] / 0",
    ]
    for source in sources:
        with contextlib.suppress(ExpressionError):
            compile_expression(source).evaluate({"input": data})


@settings(max_examples=300, deadline=None)
@given(source=st.text(max_size=60))
def test_compiling_any_text_raises_only_expression_error(source: str) -> None:
    try:
        expr = compile_expression(source)
    except ExpressionError:
        return
    with contextlib.suppress(ExpressionError):
        expr.evaluate({"input": {}, "vars": {}})
