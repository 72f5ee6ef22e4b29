"""Limits on a real broker: a queued rule with a concurrency limit of one runs its firings one
after another (each completion frees the slot), and trigger intake pauses while tasks pile up."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.triggers import TriggerEvent
from tests.streams.kit import NOW, Client, eventually, read_until, running_engine
from tests.streams.triggers.test_triggers import publish_rule

pytestmark = pytest.mark.kafka

SLOW = WorkflowDefinition.model_validate({
    "id": "slow", "name": "Slow",
    "steps": [{"id": "pause", "type": "wait", "duration": 0.3},
              {"id": "n", "action": "log", "with": {"message": "done"}}],
})


def job(n: int) -> TriggerEvent:
    return TriggerEvent(id=f"job-{n}", source="jobs", type="job.submitted", subject=f"j{n}",
                        time=NOW, data={"n": n})


async def test_a_queued_rule_with_a_concurrency_limit_runs_its_firings_one_at_a_time(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    rule = RuleDefinition.model_validate({
        "id": "one-at-a-time", "name": "One at a time", "trigger": {"event_type": "job.*"},
        "execution_mode": "queued", "concurrency_limit": 1,
        "actions": [{"type": "start_workflow", "workflow_id": "slow"}],
    })
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(SLOW)
        await publish_rule(client, rule)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path):
            for n in range(3):
                await client.send("triggers", f"j{n}", job(n))
            outcomes = await read_until(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
                                        lambda rs: len(rs) >= 3)
            first = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                     lambda rs: any(r.type == "execution_started" for r in rs))
            ids = {e.execution_id for e in first if e.type == "execution_started"}
            assert len(ids) == 1  # the others wait for the slot
            events = await read_until(
                kafka_bootstrap, hw_topics["executions"], client.codec,
                lambda rs: len({r.execution_id for r in rs if r.type == "execution_completed"}) >= 3)

    assert [len(o.actions) for o in outcomes] == [1, 0, 0]  # fired, queued, queued
    starts = [e for e in events if e.type == "execution_started"]
    assert sorted(s.input["n"] for s in starts) == [0, 1, 2]


async def test_trigger_intake_pauses_while_tasks_pile_up(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    on_job = WorkflowDefinition.model_validate({
        "id": "work", "name": "Work",
        "triggers": [{"type": "event", "type_pattern": "job.*"}],
        "steps": [{"id": "n", "action": "log", "with": {"message": "work"}}],
    })
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(on_job)
        # No task workers here: every task stays pending.
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path, task_workers=False,
                                  max_pending_tasks=2) as engine:
            for n in range(3):
                await client.send("triggers", f"j{n}", job(n))
            intake = engine.loops["triggers"]
            await eventually(lambda: intake.paused, 15)
            await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                             lambda rs: sum(r.type == "task_requested" for r in rs) >= 3)
    assert intake.paused
