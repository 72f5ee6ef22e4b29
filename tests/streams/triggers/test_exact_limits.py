"""Rule limits hold across worker processes, crashes and retention (a real broker).

Three workers share the trigger partitions; a limited rule's matches arrive on all of them, and
its gate's owner alone decides (docs/rules.md, "Limits across workers"). A `max_executions`
rule fires exactly its limit however the events spread; a queued rule's waiting firings
survive a SIGKILL of the worker holding the queue, and each starts exactly once, never more
at a time than the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from aiokafka.errors import KafkaError

from schemas.codec import Codec
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.outcomes import RuleMatched, RuleSkipped
from schemas.triggers import TriggerEvent
from streams.runtime import partition_for
from streams.runtime.registry import partitions_of
from streams.triggers.gate_records import SNAPSHOT
from tests.streams.kit import NOW, Client, MovableClock, running_engine
from tests.streams.test_crash import WorkerProcess
from tests.streams.triggers.test_triggers import publish_rule

pytestmark = pytest.mark.kafka

QUICK = WorkflowDefinition.model_validate({
    "id": "quick", "name": "Quick",
    "steps": [{"id": "n", "action": "log", "with": {"message": "job"}}],
})
HOLD = WorkflowDefinition.model_validate({
    "id": "hold", "name": "Hold a slot for a second",
    "steps": [{"id": "pause", "type": "wait", "duration": 1.0},
              {"id": "n", "action": "log", "with": {"message": "done"}}],
})


def job(n: int) -> TriggerEvent:
    return TriggerEvent(id=f"job-{n}", source="jobs", type="job.submitted", subject=f"j{n}",
                        time=NOW, data={"n": n})


class Timed:
    """Every record of a topic from its beginning, decoded, with its broker timestamp."""

    def __init__(self, bootstrap: str, topic: str, codec: Codec) -> None:
        self.bootstrap, self.topic, self.codec = bootstrap, topic, codec
        self.records: list[tuple[int, Any]] = []

    async def follow(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        await consumer.start()
        try:
            parts = [TopicPartition(self.topic, p)
                     for p in await partitions_of(self.bootstrap, self.topic)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            while True:
                for batch in (await consumer.getmany(timeout_ms=100)).values():
                    self.records += [(r.timestamp, self.codec.decode_value(r.topic, r.value))
                                     for r in batch]
        finally:
            await consumer.stop()

    async def until(self, done: Any, timeout_s: float, what: str) -> None:
        for _ in range(int(timeout_s * 10)):
            if done():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.topic}: {what} did not hold in {timeout_s} s")


@asynccontextmanager
async def following(bootstrap: str, topic: str, codec: Codec) -> AsyncIterator[Timed]:
    timed = Timed(bootstrap, topic, codec)
    task = asyncio.create_task(timed.follow())
    try:
        yield timed
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def joined(bootstrap: str, group: str, count: int, timeout_s: float) -> None:
    """Wait until `group` is stable with `count` members (its coordinator may not exist yet
    on a fresh broker)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(int(timeout_s * 2)):
            with contextlib.suppress(KafkaError):
                [response] = await admin.describe_consumer_groups([group])
                _, _, state, _, _, found = response.groups[0][:6]
                if state == "Stable" and len(found) == count:
                    return
            await asyncio.sleep(0.5)
        raise AssertionError(f"{group} did not reach {count} stable members")
    finally:
        await admin.close()


@asynccontextmanager
async def three_workers(bootstrap: str, topics: dict[str, str], tmp_path: Path
                        ) -> AsyncIterator[list[WorkerProcess]]:
    """Three `headwater worker` processes sharing the trigger partitions (all joined)."""
    workers = [WorkerProcess(bootstrap, topics, tmp_path / f"w{i}") for i in range(3)]
    for worker in workers:
        worker.env["HEADWATER_LOG_LEVEL"] = "info"  # to read which partitions each one owns
        worker.start()
    try:
        group = f"{workers[0].env['HEADWATER_APP_ID']}.triggers"
        await joined(bootstrap, group, 3, timeout_s=120)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def owned(worker: WorkerProcess) -> set[int]:
    """The trigger partitions the worker said it owns last."""
    found = re.findall(r"triggers owns partitions \[([0-9, ]*)\]", (worker.data_dir / "worker.log").read_text(errors="replace"))
    return {int(p) for p in found[-1].split(",") if p.strip()} if found else set()


def outcomes_of(records: list[tuple[int, Any]], rule_id: str) -> dict[str, Any]:
    """The rule's outcomes by event id (a repeated outcome is the same one)."""
    return {o.event_id: o for _, o in records if o.rule_id == rule_id}


def starts(records: list[tuple[int, Any]]) -> dict[str, int]:
    """Execution id -> how many distinct `execution_started` events it has."""
    seen: dict[str, set[int]] = {}
    for _, event in records:
        if event.type == "execution_started":
            seen.setdefault(event.execution_id, set()).add(event.seq)
    return {eid: len(seqs) for eid, seqs in seen.items()}


async def test_three_workers_fire_a_max_executions_rule_exactly_its_limit(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    rule = RuleDefinition.model_validate({
        "id": "first-hundred", "name": "The first hundred jobs",
        "trigger": {"event_type": "job.*"}, "max_executions": 100,
        "actions": [{"type": "start_workflow", "workflow_id": "quick",
                     "input": {"n": "${ event.data.n }"}}],
    })
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(QUICK)
        await publish_rule(client, rule)
        async with three_workers(kafka_bootstrap, hw_topics, tmp_path) as workers, \
                following(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec) as outs, \
                following(kafka_bootstrap, hw_topics["executions"], client.codec) as runs:
            await asyncio.gather(*(client.send("triggers", f"j{n}", job(n)) for n in range(1000)))
            await outs.until(lambda: len(outcomes_of(outs.records, rule.id)) >= 1000, 180,
                             "an outcome for each of the 1,000 jobs")
            await runs.until(lambda: len(starts(runs.records)) >= 100, 60, "100 executions")
            await asyncio.sleep(3)  # anything beyond the limit would show up by now
            shares = [owned(w) for w in workers]

    outcomes = outcomes_of(outs.records, rule.id)
    fired = [o for o in outcomes.values() if isinstance(o, RuleMatched) and o.actions]
    skipped = [o for o in outcomes.values() if isinstance(o, RuleSkipped)]
    assert len(fired) == 100
    assert len(skipped) == 900 and {o.reason for o in skipped} == {"max_executions"}
    started = starts(runs.records)
    assert len(started) == 100 and set(started.values()) == {1}
    assert {r.ref for o in fired for r in o.actions} == set(started)
    assert all(shares) and set().union(*shares) == set(range(6)), shares  # all three worked


async def test_queued_firings_survive_a_sigkill_of_the_worker_holding_the_queue(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    limit, jobs = 2, 16
    rule = RuleDefinition.model_validate({
        "id": "two-at-a-time", "name": "Two at a time", "trigger": {"event_type": "job.*"},
        "execution_mode": "queued", "concurrency_limit": limit,
        "actions": [{"type": "start_workflow", "workflow_id": "hold",
                     "input": {"n": "${ event.data.n }"}}],
    })
    triggers = hw_topics["triggers"]
    async with Client(kafka_bootstrap, hw_topics) as client:
        gate = partition_for(client.codec.encode_key(triggers, "rule:two-at-a-time"), 6)
        await client.publish(HOLD)
        await publish_rule(client, rule)
        async with three_workers(kafka_bootstrap, hw_topics, tmp_path) as workers, \
                following(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec) as outs, \
                following(kafka_bootstrap, hw_topics["executions"], client.codec) as runs:
            await asyncio.gather(*(client.send("triggers", f"j{n}", job(n)) for n in range(jobs)))
            await outs.until(lambda: len(outcomes_of(outs.records, rule.id)) >= jobs, 60,
                             "every job fired or queued")
            await runs.until(lambda: len(starts(runs.records)) >= limit + 1, 60,
                             "a queued firing started")
            [holder] = [w for w in workers if gate in owned(w)]
            holder.kill()  # with most firings still in its queue
            waiting = jobs - len(starts(runs.records))
            assert waiting >= jobs // 2, waiting
            await runs.until(lambda: sum(e.type == "execution_completed"
                                         for _, e in runs.records) >= jobs, 180,
                             "every queued firing ran")
            await asyncio.sleep(3)  # a repeated start would show up by now

    started = starts(runs.records)
    assert len(started) == jobs and set(started.values()) == {1}  # none lost, none twice
    assert sorted(e.input["n"] for _, e in runs.records if e.type == "execution_started") \
        == list(range(jobs))
    # Never more than the limit at a time (broker timestamps of start and end).
    edges = sorted((t, 1 if e.type == "execution_started" else -1) for t, e in runs.records
                   if e.type in ("execution_started", "execution_completed"))
    running = peak = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):  # ends first on a tie
        running += step
        peak = max(peak, running)
    assert peak == limit


async def test_a_gate_outlives_the_retention_of_its_records(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    """The records that counted a rule's executions are gone (retention); a worker with an
    empty store takes the gate over and still knows the limit is reached, from the snapshot
    the owner wrote."""
    rule = RuleDefinition.model_validate({
        "id": "first-five", "name": "The first five jobs", "trigger": {"event_type": "job.*"},
        "max_executions": 5,
        "actions": [{"type": "start_workflow", "workflow_id": "quick"}],
    })
    triggers = hw_topics["triggers"]
    clock = MovableClock()
    async with Client(kafka_bootstrap, hw_topics) as client:
        gate = TopicPartition(triggers, partition_for(
            client.codec.encode_key(triggers, "rule:first-five"), 6))
        await client.publish(QUICK)
        await publish_rule(client, rule)
        async with following(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec) as outs, \
                following(kafka_bootstrap, triggers, client.codec) as log:
            async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "a", clock=clock):
                await asyncio.gather(*(client.send("triggers", f"j{n}", job(n))
                                       for n in range(5)))
                await outs.until(lambda: len(outcomes_of(outs.records, rule.id)) >= 5, 60,
                                 "five firings")
                clock.move_to(clock() + timedelta(hours=2))  # the gate changed an hour ago
                await log.until(lambda: any(_snapshot_of(e, 5) for _, e in log.records), 30,
                                "a snapshot of the five")
            # Retention takes every record of the gate's partition before that snapshot.
            offset = await _offset_of_snapshot(kafka_bootstrap, gate, client.codec, 5)
            admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
            await admin.start()
            try:
                await admin.delete_records({gate: RecordsToDelete(offset)})
            finally:
                await admin.close()
            async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "b"):
                await asyncio.gather(*(client.send("triggers", f"j{n}", job(n))
                                       for n in range(5, 10)))
                await outs.until(lambda: len(outcomes_of(outs.records, rule.id)) >= 10, 60,
                                 "ten outcomes")

    outcomes = outcomes_of(outs.records, rule.id)
    fired = sorted(e for e, o in outcomes.items() if isinstance(o, RuleMatched) and o.actions)
    assert fired == [f"job-{n}" for n in range(5)]
    assert {o.reason for o in outcomes.values() if isinstance(o, RuleSkipped)} \
        == {"max_executions"}


def _snapshot_of(event: Any, executions: int) -> bool:
    if getattr(event, "type", None) != SNAPSHOT:
        return False
    rules = event.data["state"]["rules"]
    return any(r["executions"] == executions for r in rules.values())


async def _offset_of_snapshot(bootstrap: str, tp: TopicPartition, codec: Codec,
                              executions: int) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        while True:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            assert batch, "no snapshot on the gate's partition"
            for record in batch[tp]:
                if _snapshot_of(codec.decode_value(tp.topic, record.value), executions):
                    return int(record.offset)
    finally:
        await consumer.stop()
