"""Stateful rules and schedules on a real broker: a threshold rule fires once, also when its
state is rebuilt by another worker from the log; an absence fires once when its timer comes due;
an every-second schedule fires each second once although two workers run it."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.triggers import TriggerEvent
from tests.streams.kit import Client, read_until, running_engine
from tests.streams.triggers.test_triggers import publish_rule
from tests.support import records_to_end

pytestmark = pytest.mark.kafka

NOTE = WorkflowDefinition.model_validate({
    "id": "note", "name": "Note",
    "steps": [{"id": "n", "action": "transform", "with": {"seen": "${ input }"}}],
})


def login_failed(n: int, subject: str) -> TriggerEvent:
    return TriggerEvent(id=f"{subject}-{n}", source="auth", type="login.failed", subject=subject,
                        time=datetime.now(UTC), data={"n": n})


async def read_all(bootstrap: str, topic: str, client: Client) -> list[Any]:
    """Every decoded record of `topic` up to its end now."""
    return [client.codec.decode_value(r.topic, r.value)
            for r in await records_to_end(bootstrap, topic)]


def started(records: list[object]) -> Counter[str]:
    return Counter(getattr(r, "execution_id", "") for r in records
                   if getattr(r, "type", None) == "execution_started")


async def test_a_threshold_rule_fires_once_and_its_state_survives_a_change_of_worker(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    rule = RuleDefinition.model_validate({
        "id": "brute-force", "name": "Three failed logins",
        "trigger": {"event_type": "login.failed"},
        "pattern": {"kind": "threshold", "count": 3, "within": 60},
        "actions": [{"type": "start_workflow", "workflow_id": "note"}],
    })
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(NOTE)
        await publish_rule(client, rule)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "a"):
            for n in (1, 2):
                await client.send("triggers", "mallory", login_failed(n, "mallory"))
            await client.send("triggers", "alice", login_failed(1, "alice"))
            await read_until(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
                             lambda rs: len(rs) >= 3)  # three pending outcomes: all processed
        # A worker with an empty store takes over: the first two failures are replayed.
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "b"):
            for n in (3, 4):
                await client.send("triggers", "mallory", login_failed(n, "mallory"))
            outcomes = await read_until(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
                                        lambda rs: len(rs) >= 5)
            await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                             lambda rs: any(r.type == "execution_completed" for r in rs))
            await asyncio.sleep(0.5)
            events = await read_all(kafka_bootstrap, hw_topics["executions"], client)

    matched = [o.event_id for o in outcomes if o.type == "rule_matched"]
    assert matched == ["mallory-3"]  # the third failure in the window, and only it
    assert list(started(events).values()) == [1]


async def test_an_absence_fires_once_when_its_timer_comes_due(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    rule = RuleDefinition.model_validate({
        "id": "unpaid", "name": "Placed but not paid",
        "trigger": {"event_type": "order.*"},
        "pattern": {"kind": "absence", "first": {"type": "order.placed"},
                    "then": {"type": "order.paid"}, "timeout": 1.0},
        "actions": [{"type": "start_workflow", "workflow_id": "note",
                     "input": {"order": "${ event.subject }"}}],
    })

    def event(kind: str, subject: str) -> TriggerEvent:
        return TriggerEvent(id=f"{kind}-{subject}", source="shop", type=kind, subject=subject,
                            time=datetime.now(UTC))

    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(NOTE)
        await publish_rule(client, rule)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path):
            await client.send("triggers", "o1", event("order.placed", "o1"))
            await client.send("triggers", "o2", event("order.placed", "o2"))
            await client.send("triggers", "o1", event("order.paid", "o1"))
            await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                             lambda rs: any(r.type == "execution_completed" for r in rs))
            await asyncio.sleep(1.5)  # time for a wrong second firing to show
            events = await read_all(kafka_bootstrap, hw_topics["executions"], client)

    starts = [e for e in events if e.type == "execution_started"]
    assert len(starts) == 1
    assert starts[0].input == {"order": "o2"}


async def test_an_every_second_schedule_fires_each_second_once_with_two_workers(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    ticking = WorkflowDefinition.model_validate({
        "id": "tick", "name": "Tick",
        "triggers": [{"type": "schedule", "interval": 1}],
        "steps": [{"id": "n", "action": "log", "with": {"message": "tick"}}],
    })
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(ticking)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "a"), \
                running_engine(kafka_bootstrap, hw_topics, tmp_path / "b"):
            events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                      lambda rs: len(started(rs)) >= 3, timeout_s=30)
        await asyncio.sleep(0.5)
        events = await read_all(kafka_bootstrap, hw_topics["executions"], client)

    counts = started(events)
    assert set(counts.values()) == {1}, counts  # no fire time started twice
    fire_times = sorted(eid.split(":")[1] for eid in counts)
    assert all(t.startswith("s0-") and t.endswith(".000Z") for t in fire_times)  # whole seconds
    assert len(set(fire_times)) == len(fire_times)
