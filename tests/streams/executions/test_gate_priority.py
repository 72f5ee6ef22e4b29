"""Priority under a workflow's concurrency gate, on a real broker: while the only slot is held,
executions of every priority queue; once it is released they run highest priority first, and
first come, first served within one priority."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from schemas.commands import SignalReceived, StartExecution
from schemas.definitions import WorkflowDefinition
from tests.streams.executions.test_gate import read_all, wait_completed
from tests.streams.kit import NOW, Client, running_engine
from tests.streams.test_crash import deduplicated

pytestmark = pytest.mark.kafka

ONE_SLOT = WorkflowDefinition.model_validate({
    "id": "one-slot", "name": "One slot", "concurrency_limit": 1,
    "steps": [
        {"id": "route", "type": "condition", "branches": [
            {"when": "has(input.hold)", "next": "hold"}], "default": "work"},
        {"id": "hold", "type": "wait", "signal": "go", "next": "$end"},
        {"id": "work", "action": "transform", "with": {"done": True}}],
})
GATE = "gate:one-slot"
# Sent in this order, each queued at the gate before the next is sent.
ARRIVALS = ["low-1", "normal-1", "critical-1", "high-1", "low-2", "critical-2", "normal-2",
            "high-2"]


def start(eid: str, priority: str, **input: Any) -> StartExecution:
    return StartExecution(command_id=f"start-{eid}", execution_id=eid, time=NOW,
                          workflow_id="one-slot", input=input, priority=priority)  # type: ignore[arg-type]


async def gate_events(client: Client, bootstrap: str) -> list[Any]:
    log = await read_all(bootstrap, client.topics["executions"], client.codec)
    return deduplicated(GATE, [e for _, e, _ in log if e.execution_id == GATE])


async def until_gate(client: Client, bootstrap: str, kind: str, holder: str) -> None:
    for _ in range(300):
        if any(e.type == kind and e.holder == holder
               for e in await gate_events(client, bootstrap)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the gate never recorded {kind} for {holder}")


async def test_queued_executions_run_highest_priority_first_then_in_arrival_order(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(ONE_SLOT)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "w"):
            await client.send("commands", "holder", start("holder", "low", hold=True))
            await until_gate(client, kafka_bootstrap, "slot_granted", "holder")
            for eid in ARRIVALS:
                await client.send("commands", eid, start(eid, eid.split("-")[0]))
                await until_gate(client, kafka_bootstrap, "slot_queued", eid)

            await client.send("commands", "holder", SignalReceived(
                command_id="release", execution_id="holder", time=NOW, name="go"))
            log = await wait_completed(client, kafka_bootstrap, {"holder", *ARRIVALS})

    granted = [e.holder for e in deduplicated(GATE, [e for _, e, _ in log
                                                     if e.execution_id == GATE])
               if e.type == "slot_granted"]
    assert granted == ["holder", "critical-1", "critical-2", "high-1", "high-2", "normal-1",
                       "normal-2", "low-1", "low-2"]
    started = sorted((ts, e.execution_id) for ts, e, _ in log
                     if e.type == "execution_started" and e.execution_id != "holder")
    assert [eid for _, eid in started] == granted[1:]  # and they ran in that order
