"""Declared workflow inputs: what a start must carry, with every problem named by its path."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.definitions import InputParam, WorkflowDefinition, check_input, fill_input
from schemas.definitions.inputs import inputs_of

PARAMS = {
    "order_id": InputParam(type="string", required=True),
    "amount": InputParam(type="number", required=True),
    "qty": InputParam(type="integer", default=1),
    "tier": InputParam(type="string", enum=["gold", "silver"], default="silver"),
    "rush": InputParam(type="boolean"),
}


def _paths(payload: Any) -> list[tuple[str, str]]:
    return [(p.path, p.code) for p in check_input(PARAMS, payload)]


def test_a_complete_input_gets_its_defaults_and_keeps_undeclared_fields() -> None:
    filled, problems = fill_input(PARAMS, {"order_id": "o-1", "amount": 9.5, "note": "x"})
    assert problems == []
    assert filled == {"order_id": "o-1", "amount": 9.5, "note": "x", "qty": 1, "tier": "silver"}


def test_each_problem_names_its_field() -> None:
    assert _paths({"amount": "9"}) == [("input.order_id", "required"), ("input.amount", "type")]
    assert _paths({"order_id": "o", "amount": 1, "qty": 1.5, "tier": "bronze", "rush": 1}) == [
        ("input.qty", "type"), ("input.tier", "enum"), ("input.rush", "type")]
    assert _paths([1, 2]) == [("input", "type")]


def test_json_types_are_not_pythons() -> None:
    assert _paths({"order_id": "o", "amount": True}) == [("input.amount", "type")]
    assert _paths({"order_id": "o", "amount": 1, "qty": 2.0}) == []
    assert _paths({"order_id": "o", "amount": 1, "rush": None}) == []


def test_nothing_declared_accepts_anything_as_it_is() -> None:
    assert fill_input(None, [1]) == ([1], [])
    assert fill_input({}, "x") == ("x", [])


def test_a_declaration_that_contradicts_itself_is_refused_at_publish() -> None:
    with pytest.raises(ValidationError, match="default 'x' is not of type integer"):
        InputParam(type="integer", default="x")
    with pytest.raises(ValidationError, match="not one of enum"):
        InputParam(type="string", enum=["a"], default="b")
    with pytest.raises(ValidationError):
        WorkflowDefinition.model_validate({"id": "w", "name": "w", "steps": [
            {"id": "a", "action": "log"}], "inputs": {"x": {"type": "date"}}})


def test_inputs_round_trip_through_a_published_body() -> None:
    definition = WorkflowDefinition.model_validate({
        "id": "w", "name": "w", "steps": [{"id": "a", "action": "log"}],
        "inputs": {"n": {"type": "integer", "required": True, "description": "how many"}}})
    body = definition.model_dump(mode="json", exclude_none=True)
    assert inputs_of(body) == definition.inputs
    assert inputs_of({"id": "old"}) is None


def test_a_definition_without_inputs_keeps_its_checksum() -> None:
    """New optional fields are None by default, so versions published before keep their
    content checksum (a re-publish is not mistaken for a change)."""
    body = WorkflowDefinition.model_validate(
        {"id": "w", "name": "w", "steps": [{"id": "a", "action": "log"}]}).model_dump(
        mode="json", exclude_none=True)
    assert "inputs" not in body


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                           | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)


@given(st.dictionaries(st.sampled_from([*PARAMS, "other"]), json_values, max_size=6))
def test_a_filled_input_that_passes_passes_again_and_never_loses_a_field(payload: dict[str, Any]) -> None:
    filled, problems = fill_input(PARAMS, payload)
    assert set(payload) <= set(filled)
    if not problems:
        assert fill_input(PARAMS, filled) == (filled, [])
