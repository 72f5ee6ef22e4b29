"""Hostile rules and payloads on the real broker: catastrophic regexes and costly expressions
never stall the engine, and valid records behind them are answered within a second.

Every hostile record goes on the same partition as the valid one sent after it, so the valid
one's answer proves the agent got past them (the issue: 28 s for one 25-byte event on a
backtracking regex, 30 s for one nested comprehension over 300 items).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.commands import StartExecution
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.triggers import TriggerEvent
from tests.streams.kit import NOW, Client, Tail, eventually, running_engine
from tests.streams.triggers.test_triggers import publish_rule

pytestmark = pytest.mark.kafka

REGEXES = [r"(a+)+$", r"(a|a)+$", r"(a|aa)+$", r"(\w|a)+$", r"(a*)*b", r".*a.*a.*a.*b",
           r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@)"]
EXPRESSIONS = [
    "event.data.items.map(x, event.data.items.map(y, y)).size() > 0",
    "event.data.items.all(x, event.data.items.all(y, y >= 0))",
    "event.data.items.map(x, event.data.items[0]).size() > 0",
    "event.data.s.replace('a', event.data.s).size() > 0",
    "event.data.items.filter(x, event.data.items.exists(y, y == x)).size() > 0",
]
KEY = "same-partition"


def _rule(rule_id: str, conditions: dict[str, Any]) -> RuleDefinition:
    return RuleDefinition.model_validate({
        "id": rule_id, "name": rule_id, "trigger": {"event_type": "hostile.in"},
        "conditions": conditions,
        "actions": [{"type": "publish_event", "event_type": "hostile.seen", "data": {}}]})


OK_RULE = _rule("ok", {"data.kind": "ok"})


def _event(event_id: str, data: dict[str, Any]) -> TriggerEvent:
    return TriggerEvent(id=event_id, source="hostile", type="hostile.in", subject=KEY,
                        time=NOW, data=data)


async def _answered_after(client: Client, outcomes: Tail, event_id: str) -> float:
    """Send the valid event; seconds from its send to its evaluation by the engine."""
    sent = datetime.now(UTC)
    await client.send("triggers", KEY, _event(event_id, {"kind": "ok"}))
    await eventually(lambda: any(getattr(o, "event_id", "") == event_id
                                 for o in outcomes.records), 60)
    outcome = next(o for o in outcomes.records if getattr(o, "event_id", "") == event_id)
    assert outcome.type == "rule_matched" and outcome.rule_id == "ok"
    return (outcome.evaluated_at - sent).total_seconds()


async def _with_rules(bootstrap: str, topics: dict[str, str], tmp_path: Path,
                      rules: list[RuleDefinition], hostile: list[TriggerEvent]) -> float:
    async with Client(bootstrap, topics) as client, running_engine(
        bootstrap, topics, tmp_path
    ) as engine, Tail(bootstrap, topics["rule-outcomes"], client.codec) as outcomes:
        for rule in [OK_RULE, *rules]:
            await publish_rule(client, rule)
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: all(agent.book.rules.rule(r.id) is not None
                                     for r in [OK_RULE, *rules]), 10)
        assert await _answered_after(client, outcomes, "warm-up") < 5  # the agent is up
        for event in hostile:
            await client.send("triggers", KEY, event)
        return await _answered_after(client, outcomes, "behind")


async def test_catastrophic_regexes_do_not_hold_the_records_behind_them(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    rules = [_rule(f"re-{i}", {"$mt": {"data.s": p}}) for i, p in enumerate(REGEXES)]
    hostile = [_event(f"h-{size}-{i}", {"s": "a" * size + "!"})
               for size in (25, 1_000, 100_000) for i in range(2)]
    assert await _with_rules(kafka_bootstrap, hw_topics, tmp_path, rules, hostile) < 1.0


async def test_costly_expressions_do_not_hold_the_records_behind_them(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    rules = [_rule(f"cel-{i}", {"$expr": e}) for i, e in enumerate(EXPRESSIONS)]
    hostile = [_event(f"h-{n}", {"items": list(range(n)), "s": "a" * 100_000})
               for n in (300, 400)]
    assert await _with_rules(kafka_bootstrap, hw_topics, tmp_path, rules, hostile) < 1.0


async def test_a_costly_step_fails_with_the_named_error_and_other_executions_go_on(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    costly = WorkflowDefinition.model_validate({
        "id": "costly", "name": "Costly",
        "steps": [{"id": "pairs", "action": "transform",
                   "with": {"p": "${ input.items.map(x, input.items.map(y, y)) }"}}]})
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ), Tail(kafka_bootstrap, hw_topics["executions"], client.codec) as executions:
        await client.publish(costly)
        for execution_id, n in (("big-300", 300), ("big-400", 400), ("small", 3)):
            await client.send("commands", execution_id, StartExecution(
                command_id=f"start-{execution_id}", execution_id=execution_id, time=NOW,
                workflow_id="costly", input={"items": list(range(n))}))

        def ended(execution_id: str) -> Any:
            return next((e for e in executions.records if e.execution_id == execution_id
                         and e.type in ("execution_completed", "execution_failed")), None)

        await eventually(lambda: all(ended(x) for x in ("big-300", "big-400", "small")), 60)
    failures = {e.execution_id: e.error.code for e in executions.records
                if e.type == "step_failed"}
    assert failures == {"big-300": "expression_too_costly", "big-400": "expression_too_costly"}
    assert ended("small").type == "execution_completed"
