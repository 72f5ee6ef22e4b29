"""Message correlation on a real broker: an execution waiting in `wait: {event: ...}` is resumed
by the CloudEvent a producer publishes on `hw.triggers` with the awaited type and subject,
exactly once, and only that execution; the engine's wait records never reach a rule; a worker
that takes the partition over with an empty store still knows who waits."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.commands import StartExecution
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.triggers import TriggerEvent
from schemas.waits import WAIT_OPENED
from streams.runtime.registry import partitions_of
from tests.streams.kit import (
    Client,
    Tail,
    eventually,
    finished,
    history,
    prefix_of,
    running_engine,
)
from tests.streams.triggers.test_triggers import publish_rule

pytestmark = pytest.mark.kafka

AWAIT_PAYMENT = WorkflowDefinition.model_validate({
    "id": "await-payment", "name": "Wait for an invoice's payment",
    "steps": [
        {"id": "wait_payment", "type": "wait", "timeout": "1h",
         "event": {"type": "payment.received", "correlation": "input.invoice"}},
        {"id": "thank", "action": "transform",
         "with": {"amount": "${ steps.wait_payment.output.data.amount }"}},
    ],
    "outputs": {"paid": "${ steps.thank.output.amount }"},
})

NOTE = WorkflowDefinition.model_validate({
    "id": "note-event", "name": "Note an event",
    "steps": [{"id": "note", "action": "transform", "with": {"type": "${ input.type }"}}],
})

EVERYTHING = RuleDefinition.model_validate({
    "id": "everything", "name": "Every event",
    "trigger": {"event_type": "*"},
    "actions": [{"type": "start_workflow", "workflow_id": "note-event",
                 "input": {"type": "${ event.type }"}}],
})


def _start(execution_id: str, invoice: str) -> StartExecution:
    return StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                          time=datetime.now(UTC), workflow_id="await-payment",
                          input={"invoice": invoice})


def _payment(event_id: str, invoice: str, amount: int) -> TriggerEvent:
    return TriggerEvent(id=event_id, source="bank", type="payment.received", subject=invoice,
                        time=datetime.now(UTC), data={"amount": amount})


def _opened(subject: str) -> Any:
    return lambda records: any(getattr(r, "type", "") == WAIT_OPENED and r.subject == subject
                               for r in records)


async def _all_committed(bootstrap: str, topics: dict[str, str], timeout_s: float = 20) -> None:
    """Wait until the trigger agents' group has committed every record of `hw.triggers`."""
    topic = topics["triggers"]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                group_id=f"{prefix_of(topics)}engine.triggers")
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        ends = await consumer.end_offsets(parts)
        deadline = time.monotonic() + timeout_s
        while [tp for tp in parts if (await consumer.committed(tp) or 0) < ends[tp]]:
            assert time.monotonic() < deadline, "the trigger agent did not commit in time"
            await asyncio.sleep(0.1)
    finally:
        await consumer.stop()


def _resumed(events: list[Any], execution_id: str) -> list[Any]:
    return [e for e in history(events, execution_id)
            if e.type == "step_completed" and e.step_id == "wait_payment"]


async def test_a_published_event_resumes_exactly_the_execution_waiting_for_its_subject(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ) as engine, Tail(kafka_bootstrap, hw_topics["executions"], client.codec) as executions, \
            Tail(kafka_bootstrap, hw_topics["triggers"], client.codec) as triggers, \
            Tail(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec) as outcomes, \
            Tail(kafka_bootstrap, hw_topics["dead-letters"], client.codec) as dead:
        await client.publish(AWAIT_PAYMENT)
        await client.publish(NOTE)
        await publish_rule(client, EVERYTHING)
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: agent.book.rules.rule("everything") is not None)
        await client.send("commands", "a", _start("a", "inv-1"))
        await client.send("commands", "b", _start("b", "inv-2"))
        await triggers.wait(_opened("inv-1"), what="a's wait opened")
        await triggers.wait(_opened("inv-2"), what="b's wait opened")

        paid = _payment("pay-1", "inv-1", 40)
        await client.send("triggers", "inv-1", paid)
        await client.send("triggers", "inv-1", paid)  # a producer's retry: the same event again
        await executions.wait(finished({"a"}), what="a resumed and completed")
        # Both deliveries went through the rules (one outcome each), so both were routed.
        await outcomes.wait(lambda rs: len([o for o in rs if o.event_id == "pay-1"]) == 2,
                            what="the rule saw both deliveries")
        assert _resumed(executions.records, "a")[0].output["data"] == {"amount": 40}
        assert len(_resumed(executions.records, "a")) == 1, "the duplicate resumed it twice"
        assert history(executions.records, "a")[-1].output == {"paid": 40}
        assert _resumed(executions.records, "b") == [], "another subject's payment resumed b"
        assert not [e for e in history(executions.records, "a") if e.type == "command_rejected"]

        await client.send("triggers", "inv-2", _payment("pay-2", "inv-2", 7))
        await executions.wait(finished({"b"}), what="b resumed by its own payment")
        assert history(executions.records, "b")[-1].output == {"paid": 7}

    seen = {o.event_type for o in outcomes.records}
    assert WAIT_OPENED not in seen, "a rule saw the engine's internal wait record"
    assert seen == {"payment.received"}
    assert [(d.reason, d.message) for d in dead.records] == []


async def test_a_worker_with_an_empty_store_takes_over_the_waits(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client, \
            Tail(kafka_bootstrap, hw_topics["executions"], client.codec) as executions, \
            Tail(kafka_bootstrap, hw_topics["triggers"], client.codec) as triggers:
        await client.publish(AWAIT_PAYMENT)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "first"):
            await client.send("commands", "c", _start("c", "inv-3"))
            await triggers.wait(_opened("inv-3"), what="c's wait opened")
            # An unrelated event after the wait record: the first worker commits past it.
            await client.send("triggers", "inv-3", _payment("refund-3", "inv-3", 1).model_copy(
                update={"type": "refund.issued"}))
            await eventually(lambda: len(triggers.records) >= 2)
            await _all_committed(kafka_bootstrap, hw_topics)  # the next owner must replay
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "second"):
            await client.send("triggers", "inv-3", _payment("pay-3", "inv-3", 12))
            await executions.wait(finished({"c"}), what="the new worker resumed c")
    assert history(executions.records, "c")[-1].output == {"paid": 12}


async def test_an_event_published_just_before_the_wait_opens_still_resumes_it(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ), Tail(kafka_bootstrap, hw_topics["executions"], client.codec) as executions, \
            Tail(kafka_bootstrap, hw_topics["triggers"], client.codec) as triggers:
        await client.publish(AWAIT_PAYMENT)
        await client.send("commands", "d", _start("d", "inv-4"))
        await triggers.wait(_opened("inv-4"), what="the worker knows the workflow")
        await client.send("triggers", "inv-5", _payment("pay-5", "inv-5", 5))
        await _all_committed(kafka_bootstrap, hw_topics)  # no one waited for it when it came
        await client.send("commands", "e", _start("e", "inv-5"))
        await executions.wait(finished({"e"}), what="the early payment resumed e")
        assert history(executions.records, "e")[-1].output == {"paid": 5}
        assert _resumed(executions.records, "d") == []
