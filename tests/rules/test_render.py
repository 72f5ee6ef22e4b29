"""The fast path renders exactly what CEL renders, or steps aside."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.render import compile_fast
from schemas.expressions import ExpressionError, render_mapping

PATHS = ["event.data.a", "event.data", "event.subject", "event.data.n.x", "event.missing"]
strings = st.one_of(
    st.sampled_from(PATHS).map(lambda p: "${ " + p + " }"),
    st.lists(
        st.one_of(
            st.text("ab -:", max_size=4), st.sampled_from(PATHS).map(lambda p: "${" + p + "}")
        ),
        max_size=4,
    ).map("".join),
    st.text(max_size=6),
)
mappings = st.recursive(
    strings | st.integers() | st.none() | st.booleans(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text("kv", min_size=1, max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)
json_leaf = st.none() | st.booleans() | st.integers(-5, 5) | st.text("xy", max_size=3)
events = st.fixed_dictionaries(
    {
        "data": st.fixed_dictionaries(
            {"a": json_leaf, "n": st.fixed_dictionaries({"x": json_leaf}) | json_leaf}
        )
    },
    optional={"subject": st.text("s", min_size=1, max_size=2)},
)


def outcome(render: Any, context: dict[str, Any]) -> Any:
    try:
        return ("ok", unordered(render(context)))
    except ExpressionError:
        return ("error",)


def unordered(value: Any) -> Any:
    # CEL's maps have no key order, so an object interpolated into text may list its keys in
    # any order; compare such text as a multiset of characters.
    if isinstance(value, str) and "{" in value:
        return sorted(value)
    if isinstance(value, dict):
        return {k: unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unordered(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(mapping=mappings, event=events)
def test_fast_path_agrees_with_cel(mapping: Any, event: dict[str, Any]) -> None:
    fast = compile_fast(mapping)
    if fast is None:
        return
    context = {"event": event}
    assert outcome(fast, context) == outcome(lambda c: render_mapping(mapping, c), context)


@pytest.mark.parametrize(
    "text",
    [
        "${ event.data.a + 1 }",
        "$${ event }",
        "${ now }",
        "${ event.data['a'] }",
        "x ${ size(event.data) }",
    ],
)
def test_anything_but_a_plain_event_path_goes_to_cel(text: str) -> None:
    assert compile_fast({"k": [text]}) is None
