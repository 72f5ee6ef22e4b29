"""What the engine promises when things go wrong: poison records become dead letters and
nothing stalls; a worker with no local state rebuilds it from `hw.executions`, and commands
delivered again cause no second transition."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemas.commands import SignalReceived, StartExecution, TaskCompleted
from schemas.dead_letters import DeadLetter
from schemas.definitions import WorkflowDefinition
from schemas.validation import load_definition
from streams.executions.store import StateStore
from streams.machine import replay
from tests.streams.kit import NOW, Client, finished, history, read_until, running_engine

pytestmark = pytest.mark.kafka

EXAMPLES = Path(__file__).parents[2] / "examples" / "workflows"


def example(name: str) -> WorkflowDefinition:
    definition = load_definition(EXAMPLES / f"{name}.yaml")
    assert isinstance(definition, WorkflowDefinition)
    return definition


def start(execution_id: str, workflow_id: str, **data: object) -> StartExecution:
    return StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                          time=NOW, workflow_id=workflow_id, input=dict(data))


async def test_poison_records_become_dead_letters_and_the_partition_keeps_going(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ):
        await client.publish(example("hello"))
        # All four share the key "ex-1", hence one partition, ahead of a good command.
        key = client.codec.encode_key(hw_topics["commands"], "ex-1")
        await client.send_raw("commands", key, os.urandom(64))
        await client.send_raw("commands", key, b"\x00\x7f\xff\xff\xff" + os.urandom(16))
        await client.send("commands", "ex-1", start("ex-1", "no-such-workflow"))
        await client.send("commands", "ex-1", TaskCompleted(
            command_id="c-1", execution_id="ex-1", time=NOW, task_id="ex-1:t9"))
        await client.send("commands", "ex-1", start("ex-1", "hello", name="Bo"))
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  finished({"ex-1"}))
        letters = await read_until(kafka_bootstrap, hw_topics["dead-letters"], client.codec,
                                   lambda found: len(found) >= 4)

    assert history(events, "ex-1")[-1].type == "execution_completed"
    assert all(isinstance(d, DeadLetter) for d in letters)
    reasons = [d.reason for d in sorted(letters, key=lambda d: d.offset)]
    assert reasons[1:] == ["unknown_schema_id", "unknown_workflow", "unknown_execution"]
    assert reasons[0] in {"corrupt", "unknown_magic_byte", "truncated", "unknown_schema_id"}
    assert {(d.topic, d.key) for d in letters} == {(hw_topics["commands"], key)}
    assert [d.offset for d in sorted(letters, key=lambda d: d.offset)] == [0, 1, 2, 3]


async def test_a_worker_without_state_rebuilds_it_from_the_log_and_old_commands_change_nothing(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    ids = {f"ex-{i}" for i in range(20)}
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(example("approval"))
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "a", app_id="a"):
            for eid in sorted(ids):
                await client.send("commands", eid, start(eid, "expense-approval", id=eid,
                                                         amount=500.0, manager="m"))
            before = await read_until(
                kafka_bootstrap, hw_topics["executions"], client.codec,
                lambda found: sum(e.type == "step_started" and e.step_id == "wait_decision"
                                  for e in found) == len(ids))
        # A new group re-reads every command from offset 0; a new data dir has no state.
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "b", app_id="b"):
            for eid in sorted(ids):
                await client.send("commands", eid, SignalReceived(
                    command_id=f"sig-{eid}", execution_id=eid, time=NOW, name="decision",
                    payload={"approved": True}))
            after = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                     finished(ids))
    for eid in ids:
        old, new = history(before, eid), history(after, eid)
        assert new[: len(old)] == old  # the replayed start commands appended nothing
        assert [e.seq for e in new] == list(range(1, len(new) + 1))
        assert new[-1].type == "execution_completed"
        assert [e.step_id for e in new if e.type == "step_completed"][-1] == "approve"
    store = StateStore(tmp_path / "b" / "executions")
    try:
        held = {s.execution_id: s for p in range(6) for s in store.states(p)}
    finally:
        store.close()
    for eid in ids:
        assert held[eid] == replay(history(after, eid))
