"""The trigger agent on a real broker: a trigger matching a rule starts a workflow that
completes, its outcome lands on `hw.rule-outcomes`, a redelivered trigger starts nothing twice,
workflow event triggers start executions, poison triggers become dead letters, and a rule
published while the engine runs applies without a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.definition_events import DefinitionPublished
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.triggers import TriggerEvent
from tests.streams.kit import NOW, Client, eventually, finished, read_until, running_engine

pytestmark = pytest.mark.kafka

ECHO = WorkflowDefinition.model_validate({
    "id": "review-order", "name": "Review an order",
    "steps": [{"id": "note", "action": "transform", "with": {"order": "${ input.order }"}}],
    "outputs": {"order": "${ steps.note.output.order }"},
})

BIG_ORDER = RuleDefinition.model_validate({
    "id": "big-order", "name": "Big order",
    "trigger": {"event_type": "order.*"},
    "conditions": {"$gt": {"data.amount": 100}},
    "actions": [{"type": "start_workflow", "workflow_id": "review-order",
                 "input": {"order": "${ event.data.id }"}}],
})


async def publish_rule(client: Client, rule: RuleDefinition) -> None:
    event = DefinitionPublished(kind="rule", definition_id=rule.id, version=rule.version,
                                definition=rule.model_dump(mode="json", by_alias=True),
                                published_at=NOW)
    await client.send("definitions", event.key, event)


RELAY = RuleDefinition.model_validate({
    "id": "relay", "name": "Relay under a name taken from the event",
    "trigger": {"event_type": "relay.me"},
    "actions": [{"type": "publish_event", "event_type": "${ event.data.as }", "source": "relay",
                 "data": {}}],
})


def order(event_id: str, amount: int, subject: str = "cust-1") -> TriggerEvent:
    return TriggerEvent(id=event_id, source="shop", type="order.created", subject=subject,
                        time=NOW, data={"id": f"o-{event_id}", "amount": amount})


def of_type(kind: str) -> Any:
    return lambda records: [r for r in records if getattr(r, "type", None) == kind]


async def test_a_matching_trigger_starts_a_workflow_once_and_reports_its_outcome(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ) as engine:
        await client.publish(ECHO)
        await publish_rule(client, BIG_ORDER)  # published while the engine runs
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: agent.book.rules.rule("big-order") is not None, 1.0)
        big, small = order("1", 250), order("2", 50)
        await client.send("triggers", "cust-1", big)
        await client.send("triggers", "cust-1", small)
        # The same event again (a producer retry or a redelivery): it must start nothing new.
        headers, value = big.to_structured()
        await client.producer.send_and_wait(hw_topics["triggers"], value, key=b"cust-1",
                                            headers=headers)
        # Each delivery of the big order reports an outcome (readers drop repeats by event id).
        outcomes = await read_until(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
                                    lambda rs: len(rs) >= 2)
        started = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                   lambda rs: any(r.type == "execution_completed" for r in rs))
        later = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                 finished({started[0].execution_id}))

    matched = [o for o in outcomes if o.type == "rule_matched"]
    assert [o.event_id for o in matched] == ["1", "1"]
    assert matched[0].rule_id == "big-order"
    assert matched[0].actions[0].action_type == "start_workflow"
    # The firing keeps the condition tree, as POST /rules/test shows it.
    assert matched[0].condition_result == {
        "op": "$gt", "path": "data.amount", "expected": 100, "actual": 250, "result": True,
        "children": []}
    starts = of_type("execution_started")(later)
    assert len(starts) == 1, "the redelivered trigger started a second execution"
    assert starts[0].workflow_id == "review-order"
    done = of_type("execution_completed")(later)
    assert done[0].output == {"order": "o-1"}


async def test_a_workflow_event_trigger_starts_it_and_poison_triggers_become_dead_letters(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    on_signup = WorkflowDefinition.model_validate({
        "id": "welcome", "name": "Welcome",
        "triggers": [{"type": "event", "type_pattern": "user.signed_up",
                      "condition": {"data.plan": "pro"}}],
        "steps": [{"id": "hi", "action": "transform", "with": {"to": "${ input.email }"}}],
        "outputs": {"to": "${ steps.hi.output.to }"},
    })
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ):
        await client.publish(on_signup)
        await publish_rule(client, RELAY)
        # A rule whose rendered action makes no valid record: dead letter, not a stalled agent.
        await client.send("triggers", "r1", TriggerEvent(id="r1", source="ops", type="relay.me",
                                                         time=NOW, data={"as": ""}))
        await client.send_raw("triggers", b"k", b"\x00\x00\x00\x00\x07garbage")  # unknown schema
        await client.send_raw("triggers", b"k", b"\xff\xfe random bytes")
        await client.send_raw("triggers", b"k", orjson.dumps({"id": "x", "type": "t"}))  # no source
        for event_id, plan in (("u1", "pro"), ("u2", "free")):
            signup = TriggerEvent(id=event_id, source="auth", type="user.signed_up",
                                  subject=event_id, time=NOW,
                                  data={"email": f"{event_id}@x.io", "plan": plan})
            await client.send("triggers", event_id, signup)
        letters = await read_until(kafka_bootstrap, hw_topics["dead-letters"], client.codec,
                                   lambda rs: len(rs) >= 4)
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  lambda rs: any(r.type == "execution_completed" for r in rs))

    assert [d.reason for d in letters if d.reason == "invalid_action"] == ["invalid_action"]
    assert {d.consumer for d in letters} == {"triggers"}
    assert {d.topic for d in letters} == {hw_topics["triggers"]}
    assert any("source" in d.message for d in letters)
    starts = of_type("execution_started")(events)
    assert [s.workflow_id for s in starts] == ["welcome"]
    assert of_type("execution_completed")(events)[0].output == {"to": "u1@x.io"}
