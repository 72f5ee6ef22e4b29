"""Definition models: defaults, shorthands, durations, versions, conditions."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.definitions import (
    ActionStep,
    ErrorHandling,
    ManualTrigger,
    RetryPolicy,
    RuleDefinition,
    WaitStep,
    WorkflowDefinition,
    check_condition,
    parse_condition,
    parse_duration,
    version_matches,
)
from schemas.definitions.conditions import All, Compare, FieldRef, Items, Match, condition_fields


def test_a_five_line_workflow_is_complete() -> None:
    workflow = WorkflowDefinition.model_validate(
        {"id": "hello", "name": "Hello", "steps": [{"id": "greet", "action": "log"}]}
    )
    assert workflow.triggers == [ManualTrigger(type="manual")]
    assert workflow.version == "1.0.0"
    assert workflow.status == "active"
    assert workflow.execution_mode == "sequential"
    assert workflow.on_error == ErrorHandling(action="fail")
    assert isinstance(workflow.steps[0], ActionStep)


def test_models_are_frozen_and_refuse_unknown_fields() -> None:
    workflow = WorkflowDefinition.model_validate(
        {"id": "a", "name": "A", "steps": [{"id": "s", "action": "log"}]}
    )
    with pytest.raises(ValidationError):
        workflow.name = "B"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        WorkflowDefinition.model_validate(
            {"id": "a", "name": "A", "steps": [{"id": "s", "action": "log"}], "stepz": []}
        )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("1h30m", 5400),
        ("90", 90),
        (12, 12.0),
        (1.5, 1.5),
    ],
)
def test_durations_read_as_seconds(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_bad_duration_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        RetryPolicy.model_validate({"initial_interval": "5 parsecs"})
    assert caught.value.errors()[0]["type"] == "invalid_duration"


def test_step_type_is_inferred_and_written_back() -> None:
    workflow = WorkflowDefinition.model_validate(
        {
            "id": "a",
            "name": "A",
            "steps": [{"id": "s", "action": "log"}, {"id": "w", "signal": "go"}],
        }
    )
    assert isinstance(workflow.steps[1], WaitStep)
    dumped = workflow.model_dump(exclude_defaults=True)
    assert dumped["steps"][0]["type"] == "action"
    assert WorkflowDefinition.model_validate(dumped) == workflow


def test_error_handling_shorthand() -> None:
    step = ActionStep.model_validate(
        {"id": "s", "type": "action", "action": "x", "on_error": "continue"}
    )
    assert step.on_error == ErrorHandling(action="continue")


def test_action_params_are_authored_as_with() -> None:
    step = ActionStep.model_validate(
        {"id": "s", "type": "action", "action": "http", "with": {"url": "u"}}
    )
    assert step.params == {"url": "u"}
    assert step.model_dump()["with"] == {"url": "u"}


def test_rule_defaults() -> None:
    rule = RuleDefinition.model_validate(
        {"id": "r", "name": "R", "actions": [{"workflow_id": "hello"}]}
    )
    assert rule.trigger.event_type == "*"
    assert rule.priority == 0
    assert rule.enabled and rule.execution_mode == "immediate"


@pytest.mark.parametrize(
    ("version", "range_", "expected"),
    [
        ("1.4.2", "*", True),
        ("1.4.2", "^1.2", True),
        ("2.0.0", "^1.2", False),
        ("1.2.9", "~1.2", True),
        ("1.3.0", "~1.2", False),
        ("0.2.5", "^0.2.1", True),
        ("0.3.0", "^0.2.1", False),
        ("1.9.0", ">=1.0.0 <2.0.0", True),
        ("1.2.3", "1.2.3", True),
        ("1.2.4", "1.2.3", False),
        ("1.7.0", "1.x", True),
        ("1.0.0-rc.1", "^1.0", False),
    ],
)
def test_version_ranges(version: str, range_: str, expected: bool) -> None:
    assert version_matches(version, range_) is expected


def test_condition_parses_durable_rules_json() -> None:
    node = parse_condition(
        {
            "$and": [
                {"$gt": {"data.total": 100}},
                {"data.tier": "gold"},
                {"$iany": {"data.tags": {"$mt": {"$i": "vip-.*"}}}},
                {"$lt": {"data.a": {"$m": "data.b"}}},
            ]
        }
    )
    assert isinstance(node, All)
    assert node.conditions[0] == Compare("$gt", "data.total", 100)
    assert node.conditions[1] == Compare("$eq", "data.tier", "gold")
    assert node.conditions[2] == Items("any", "data.tags", Match("$i", "vip-.*", False))
    assert node.conditions[3] == Compare("$lt", "data.a", FieldRef("data.b"))
    assert condition_fields(node) == {"data.total", "data.tier", "data.tags", "data.a", "data.b"}


def test_condition_syntax_matches_what_durable_rules_generates() -> None:
    lang = pytest.importorskip("durable.lang")
    m, item = lang.m, lang.item
    ruleset = lang.ruleset("hw_syntax_check")
    with ruleset:

        @lang.when_all(
            (m.amount > 5)
            & (m.customer.tier == "gold")
            & +m.x
            & -m.y
            & m.tags.anyItem(item.matches("a.*"))
            & (m.c != "x")
            & m.objs.allItems(item.price >= 3)
        )
        def _fired(c: Any) -> None:  # pragma: no cover - never run
            pass

    definition = ruleset.define()[1]
    condition = next(iter(definition.values()))["all"][0]["m"]
    assert check_condition(condition) == []


@pytest.mark.parametrize(
    ("condition", "path", "code"),
    [
        ({"$foo": {"a": 1}}, '$["$foo"]', "unknown_operator"),
        ({"a": 1, "b": 2}, "$", "invalid_condition"),
        ({"$and": []}, '$["$and"]', "invalid_condition"),
        ({"$mt": {"a": "("}}, '$["$mt"].a', "invalid_regex"),
        ({"$i": 3}, '$["$i"]', "invalid_field"),
        ({"$iall": {"xs": {"other": 1}}}, '$["$iall"].xs.other', "invalid_field"),
        ({"$expr": "1 +"}, '$["$expr"]', "invalid_expression"),
        ({"$gt": {"a": [1]}}, '$["$gt"].a', "invalid_condition"),
        ({"$add": {"a": 1}}, '$["$add"]', "unknown_operator"),
    ],
)
def test_condition_problems(condition: dict[str, Any], path: str, code: str) -> None:
    assert [(p.path, p.code) for p in check_condition(condition)] == [(path, code)]


@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda i: (
            st.lists(i, max_size=3)
            | st.dictionaries(
                st.sampled_from(
                    ["$and", "$or", "$gt", "$ex", "$mt", "$iany", "a.b", "$i", "$expr", "x"]
                ),
                i,
                max_size=3,
            )
        ),
        max_leaves=12,
    )
)
def test_check_condition_never_raises(condition: Any) -> None:
    check_condition(condition)


def test_a_layout_is_kept_and_checked_but_optional() -> None:
    base = {"id": "drawn", "name": "Drawn", "steps": [{"id": "a", "action": "log"}]}
    drawn = WorkflowDefinition.model_validate(
        {**base, "layout": {"nodes": {"a": {"x": 10, "y": -5.5}, "gone": {"x": 0, "y": 0}},
                            "viewport": {"x": 0, "y": 0, "zoom": 1.5}}})
    assert drawn.layout is not None and drawn.layout.nodes["a"].x == 10.0
    assert WorkflowDefinition.model_validate(base).layout is None
    dumped = drawn.model_dump(mode="json", exclude_none=True)
    assert dumped["layout"]["nodes"]["a"] == {"x": 10.0, "y": -5.5}
    with pytest.raises(ValidationError):
        WorkflowDefinition.model_validate({**base, "layout": {"nodes": {"a": {"x": "left"}}}})
    with pytest.raises(ValidationError):
        WorkflowDefinition.model_validate({**base, "layout": {"zoom": 2}})
