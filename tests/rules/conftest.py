"""Factories for rules and events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from schemas.definitions import RuleDefinition

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RuleFactory = Callable[..., RuleDefinition]
EventFactory = Callable[..., dict[str, Any]]


def at(seconds: float) -> dt.datetime:
    """A point in time `seconds` after T0."""
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def rule_factory() -> RuleFactory:
    """`rule_factory(id, conditions=..., **fields)` builds a valid RuleDefinition."""

    def make(
        rule_id: str, conditions: dict[str, Any] | None = None, **fields: Any
    ) -> RuleDefinition:
        data: dict[str, Any] = {
            "id": rule_id,
            "name": rule_id,
            "trigger": {
                "event_type": fields.pop("event_type", "*"),
                "source": fields.pop("source", "*"),
            },
            "conditions": conditions,
            "actions": fields.pop(
                "actions",
                [{"type": "start_workflow", "workflow_id": "wf", "input": "${ event.data }"}],
            ),
            **fields,
        }
        return RuleDefinition.model_validate(data)

    return make


@pytest.fixture
def event_factory() -> EventFactory:
    """`event_factory(type, data, **attrs)` builds a CloudEvent as a JSON dict."""
    counter = iter(range(1_000_000))

    def make(event_type: str = "order.created", data: Any = None, **attrs: Any) -> dict[str, Any]:
        return {
            "id": f"e{next(counter)}",
            "source": "shop",
            "type": event_type,
            "data": data,
            **attrs,
        }

    return make
