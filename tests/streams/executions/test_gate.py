"""A workflow's concurrency_limit on a real broker, across two workers.

Executions of one workflow spread over every partition (their ids are the keys), so only the
gate (`gate:<workflow id>`, one owner at a time) can count them. Running intervals are read from
`hw.executions` with the broker records' timestamps: from an execution's `execution_started`
record to its terminal record. A grant is caused by a release, which is produced with the
terminal event it follows, so a correct gate never shows more than the limit at once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.codec import Codec
from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from schemas.executions import TERMINAL_EVENT_TYPES
from streams.machine import GateState, replay_gate
from streams.runtime.registry import partitions_of
from tests.streams.kit import NOW, Client, prefix_of, running_engine
from tests.streams.test_crash import WorkerProcess, deduplicated

pytestmark = pytest.mark.kafka

LIMIT = 2
GATED = WorkflowDefinition.model_validate({
    "id": "gated", "name": "Gated", "concurrency_limit": LIMIT,
    "steps": [{"id": "pause", "type": "wait", "duration": 0.4},
              {"id": "done", "action": "log", "with": {"message": "done"}}],
})
GATE = "gate:gated"


async def read_all(bootstrap: str, topic: str, codec: Codec) -> list[tuple[int, Any, Any]]:
    """(timestamp ms, decoded value, raw record) of every record of `topic` now in it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        out: list[tuple[int, Any, Any]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out += [(r.timestamp, codec.decode_value(r.topic, r.value), r) for r in records]
        return out
    finally:
        await consumer.stop()


async def wait_completed(client: Client, bootstrap: str, ids: set[str], count: int | None = None,
                         timeout_s: float = 120) -> list[tuple[int, Any, Any]]:
    """The executions log once `count` of `ids` (default: all) have ended."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    wanted = len(ids) if count is None else count
    while True:
        log = await read_all(bootstrap, client.topics["executions"], client.codec)
        ended = {e.execution_id for _, e, _ in log if e.type in TERMINAL_EVENT_TYPES} & ids
        if len(ended) >= wanted:
            return log
        assert asyncio.get_running_loop().time() < deadline, f"unfinished: {ids - ended}"
        await asyncio.sleep(0.5)


async def settled(bootstrap: str, group: str, topic: str, timeout_s: float = 120) -> None:
    """Wait until `group` has committed every record of `topic` twice in a row, a second
    apart (so the commands the last ones caused were consumed too)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await admin.start()
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        deadline, quiet, last = asyncio.get_running_loop().time() + timeout_s, 0, None
        while quiet < 2:
            ends = await consumer.end_offsets(parts)
            done = await admin.list_consumer_group_offsets(group, partitions=parts)
            lag = {tp.partition: end - max(done[tp].offset if tp in done else 0, 0)
                   for tp, end in ends.items()}
            assert asyncio.get_running_loop().time() < deadline, f"{group} lags: {lag}"
            caught_up = not any(lag.values())
            quiet = quiet + 1 if caught_up and ends == last else 0
            last = ends
            await asyncio.sleep(1)
    finally:
        await consumer.stop()
        await admin.close()


def most_running_at_once(log: list[tuple[int, Any, Any]], ids: set[str]) -> int:
    """The most executions between their started and terminal records at any instant."""
    marks: list[tuple[int, int]] = []  # (time, +1 start / -1 end); ends sort first on a tie
    seen: set[tuple[str, int]] = set()
    for ts, event, _ in log:
        if event.execution_id not in ids or (event.execution_id, event.seq) in seen:
            continue  # a duplicate (same id and seq) from a redelivery
        seen.add((event.execution_id, event.seq))
        if event.type == "execution_started":
            marks.append((ts, 1))
        elif event.type in TERMINAL_EVENT_TYPES:
            marks.append((ts, -1))
    running = most = 0
    for _, delta in sorted(marks):
        running += delta
        most = max(most, running)
    return most


def gate_history(log: list[tuple[int, Any, Any]]) -> list[Any]:
    events = [e for _, e, _ in log if e.execution_id == GATE]
    return deduplicated(GATE, events)


def check(log: list[tuple[int, Any, Any]], ids: set[str]) -> GateState:
    histories: dict[str, list[Any]] = {}
    for _, event, _ in log:
        histories.setdefault(event.execution_id, []).append(event)
    for eid in ids:
        events = deduplicated(eid, histories[eid])
        assert [e.type for e in events][:2] == ["execution_queued", "execution_started"], eid
        ends = [e.type for e in events if e.type in TERMINAL_EVENT_TYPES]
        assert ends == ["execution_completed"], eid
    assert most_running_at_once(log, ids) == LIMIT  # never more, and the limit is used
    history = gate_history(log)
    grants = Counter(e.ticket for e in history if e.type == "slot_granted")
    assert sorted(grants) == sorted(f"{eid}:slot1" for eid in ids)
    assert set(grants.values()) == {1}, grants  # no ticket admitted twice
    state = replay_gate(history)
    assert state is not None
    for n in range(len(history)):  # at no point in the gate's history more than the limit
        partial = replay_gate(history[: n + 1])
        assert partial is not None and len(partial.running) <= LIMIT
    assert (state.running, state.queue) == ({}, {})  # every slot came back: no leak
    return state


def start(eid: str) -> StartExecution:
    return StartExecution(command_id=f"start-{eid}", execution_id=eid, time=NOW,
                          workflow_id="gated")


async def test_two_workers_never_run_more_than_the_limit_and_all_complete(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    ids = {f"run-{i}" for i in range(10)}
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(GATED)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "w1"), \
                running_engine(kafka_bootstrap, hw_topics, tmp_path / "w2"):
            for eid in sorted(ids):
                await client.send("commands", eid, start(eid))
            await wait_completed(client, kafka_bootstrap, ids)
            await settled(kafka_bootstrap, f"{prefix_of(hw_topics)}engine.processor",
                          hw_topics["commands"])
            log = await read_all(kafka_bootstrap, hw_topics["executions"], client.codec)
    check(log, ids)
    partitions = {record.partition for _, e, record in log if e.execution_id in ids}
    assert len(partitions) > 1, "the executions should spread over partitions"


async def test_a_killed_worker_and_redelivered_slot_commands_leak_or_double_no_slot(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    ids = {f"run-{i}" for i in range(10)}
    workers = [WorkerProcess(kafka_bootstrap, hw_topics, tmp_path / f"w{i}") for i in range(2)]
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(GATED)
        for worker in workers:
            worker.start()
        try:
            for eid in sorted(ids):
                await client.send("commands", eid, start(eid))
            await wait_completed(client, kafka_bootstrap, ids, count=3)  # some ran, some wait
            workers[0].kill()  # mid-batch, perhaps: its partitions are caught up elsewhere
            await redeliver_slot_commands(client, kafka_bootstrap)
            workers[0].start()
            await asyncio.sleep(3)
            await redeliver_slot_commands(client, kafka_bootstrap)
            await wait_completed(client, kafka_bootstrap, ids, timeout_s=180)
            await settled(kafka_bootstrap, f"{prefix_of(hw_topics)}worker.processor",
                          hw_topics["commands"])
            log = await read_all(kafka_bootstrap, hw_topics["executions"], client.codec)
        finally:
            codes = [worker.stop() for worker in workers]
        assert codes == [0, 0], [w.log_tail() for w in workers]
    check(log, ids)


async def redeliver_slot_commands(client: Client, bootstrap: str) -> None:
    """Send again, byte for byte, every acquire, release and grant sent so far."""
    commands = await read_all(bootstrap, client.topics["commands"], client.codec)
    slot = [r for _, c, r in commands if c.type in ("acquire_slot", "release_slot", "grant_slot")]
    assert slot, "no slot command was sent yet"
    for record in slot:
        await client.producer.send(client.topics["commands"], record.value, key=record.key,
                                   partition=record.partition)
    await client.producer.flush()
