"""Crash safety: worker processes killed with SIGKILL at random points while executions run.

Afterwards every execution has finished exactly once, no execution misses a sequence number,
an event appears twice only as an identical copy (same execution id, seq and content), and the
state rebuilt from `hw.executions` alone equals the state the workers hold in their stores.

CI runs a light variant (a few hundred executions, 5 kills); ``HEADWATER_FULL=1`` runs the
full one (10,000 executions, 20 kills).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from schemas.codec import Codec
from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from schemas.executions import ExecutionEventBase
from schemas.validation import load_definition
from streams.executions.store import StateStore
from streams.machine import TERMINAL_STATUSES, State, replay
from streams.runtime.registry import partitions_of
from tests.streams.kit import NOW, Client, prefix_of
from tests.support import free_ports

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).parents[2]
FULL = os.environ.get("HEADWATER_FULL") == "1"

THREE_STEPS = """
kind: workflow
id: three-steps
name: Three transforms
steps:
  - {id: a, action: transform, with: {n: "${ input.n }"}}
  - {id: b, action: transform, with: {n: "${ input.n + 1 }"}}
  - {id: c, action: transform, with: {n: "${ input.n + 2 }"}}
"""


class WorkerProcess:
    """`python -m headwater worker` as users run it, with its own data directory and log."""

    def __init__(self, bootstrap: str, topics: dict[str, str], data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": bootstrap,
                    "HEADWATER_TOPIC_PREFIX": prefix_of(topics),
                    "HEADWATER_APP_ID": f"{prefix_of(topics)}worker",
                    "HEADWATER_DATA_DIR": str(data_dir),
                    "HEADWATER_WORKER_WEB_PORT": str(free_ports(1)),
                    "HEADWATER_LOG_LEVEL": "warning"}
        self.child: subprocess.Popen[bytes] | None = None

    @property
    def store_path(self) -> Path:
        return self.data_dir / "worker" / "executions"

    def start(self) -> None:
        with (self.data_dir / "worker.log").open("ab") as log:
            self.child = subprocess.Popen([sys.executable, "-m", "headwater", "worker"],
                                          env=self.env, cwd=ROOT, stdout=log,
                                          stderr=subprocess.STDOUT)

    def kill(self) -> None:
        assert self.child is not None and self.child.poll() is None, self.log_tail()
        self.child.send_signal(signal.SIGKILL)
        self.child.wait()
        self.child = None

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.child is None:
            return 0
        self.child.send_signal(signal.SIGTERM)
        try:
            return self.child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.child.kill()
            raise
        finally:
            self.child = None

    def log_tail(self) -> str:
        return (self.data_dir / "worker.log").read_text(errors="replace")[-3000:]


@dataclass
class Log:
    """Every record of `hw.executions` read so far, in order per partition."""

    bootstrap: str
    topic: str
    codec: Codec
    records: list[Any] = field(default_factory=list)
    ended: set[str] = field(default_factory=set)

    async def follow(self) -> None:
        """Read from the beginning until cancelled."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            consumer.assign([TopicPartition(self.topic, p)
                             for p in await partitions_of(self.bootstrap, self.topic)])
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        self.records.append(record)
                        self._note(record)
        finally:
            await consumer.stop()

    def _note(self, record: Any) -> None:
        event = self.codec.decode_value(record.topic, record.value)
        # Ended: a terminal event (not execution_started, _queued, _migrated and the like)
        if event.type.removeprefix("execution_") in TERMINAL_STATUSES:
            self.ended.add(event.execution_id)

    async def progress(self, since: int, ids: set[str], timeout_s: float) -> None:
        """Wait until records beyond the first `since` arrive (or every execution has ended)."""
        deadline = time.monotonic() + timeout_s
        while len(self.records) <= since and not ids <= self.ended:
            assert time.monotonic() < deadline, "no progress"
            await asyncio.sleep(0.05)

    async def all_ended(self, ids: set[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not ids <= self.ended:
            missing = ids - self.ended
            assert time.monotonic() < deadline, f"{len(missing)} unfinished, e.g. {sorted(missing)[:5]}"
            await asyncio.sleep(0.2)

    async def read_to_end(self, timeout_s: float = 30) -> None:
        """Wait until every record now in the topic has been read."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None)
        await consumer.start()
        try:
            parts = [TopicPartition(self.topic, p)
                     for p in await partitions_of(self.bootstrap, self.topic)]
            ends = {tp.partition: end for tp, end in (await consumer.end_offsets(parts)).items()}
        finally:
            await consumer.stop()
        deadline = time.monotonic() + timeout_s
        while any(self.end_offsets().get(p, 0) < end for p, end in ends.items()):
            assert time.monotonic() < deadline, "the log was not read to its end"
            await asyncio.sleep(0.1)

    def histories(self) -> dict[str, list[ExecutionEventBase]]:
        out: dict[str, list[ExecutionEventBase]] = {}
        for record in self.records:
            event = self.codec.decode_value(record.topic, record.value)
            out.setdefault(event.execution_id, []).append(event)
        return out

    def end_offsets(self) -> dict[int, int]:
        ends: dict[int, int] = {}
        for record in self.records:
            ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
        return ends


def three_steps() -> WorkflowDefinition:
    definition = load_definition(THREE_STEPS)
    assert isinstance(definition, WorkflowDefinition)
    return definition


async def send_starts(client: Client, ids: list[str], seconds: float) -> None:
    """Start the executions evenly over `seconds`."""
    began = time.monotonic()
    for i, eid in enumerate(ids):
        await asyncio.sleep(max(0.0, began + seconds * i / len(ids) - time.monotonic()))
        await client.send("commands", eid, StartExecution(
            command_id=f"start-{eid}", execution_id=eid, time=NOW, workflow_id="three-steps",
            input={"n": i}))


def deduplicated(execution_id: str, events: list[ExecutionEventBase]) -> list[ExecutionEventBase]:
    """The history without its allowed duplicates; fails on a gap or a differing duplicate."""
    kept: list[ExecutionEventBase] = []
    for event in events:
        if kept and event.seq <= kept[-1].seq:
            assert event == kept[event.seq - 1], f"{execution_id}: seq {event.seq} differs"
            continue
        assert event.seq == len(kept) + 1, f"{execution_id}: seq {len(kept) + 1} is missing"
        kept.append(event)
    return kept


def held_states(stores: Iterable[Path], ends: dict[int, int], partitions: int) -> dict[str, State]:
    """Per partition, the states of the store that reflects the whole log (its last owner)."""
    held: dict[str, State] = {}
    for partition in range(partitions):
        owners = []
        for path in stores:
            store = StateStore(path)
            try:
                if store.checkpoint(partition) == ends.get(partition, 0):
                    owners.append({s.execution_id: s for s in store.states(partition)})
            finally:
                store.close()
        assert owners, f"no store reflects partition {partition} up to its end"
        held.update(owners[0])
    return held


def check(log: Log, ids: set[str], stores: list[Path], partitions: int) -> dict[str, int]:
    """Every assertion of the crash and rebalance tests; returns counts for the report."""
    histories = log.histories()
    assert set(histories) == ids
    held = held_states(stores, log.end_offsets(), partitions)
    duplicates = 0
    for eid in ids:
        events = deduplicated(eid, histories[eid])
        duplicates += len(histories[eid]) - len(events)
        terminal = [e for e in events if e.type.removeprefix("execution_") in TERMINAL_STATUSES]
        assert [e.type for e in terminal] == ["execution_completed"], eid
        assert events[-1] is terminal[0]
        assert held[eid] == replay(events), eid
    return {"executions": len(ids), "events": len(log.records), "duplicates": duplicates}


@pytest.mark.timeout(1800 if FULL else 600)  # the full variant's own waits add up past 600 s
async def test_workers_killed_at_random_points_lose_and_repeat_nothing(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    executions, kills = (10_000, 20) if FULL else (300, 5)
    rng = random.Random(os.environ.get("HEADWATER_SEED", "6"))
    ids = [f"ex-{i}" for i in range(executions)]
    workers = [WorkerProcess(kafka_bootstrap, hw_topics, tmp_path / f"w{i}") for i in range(2)]
    async with Client(kafka_bootstrap, hw_topics) as client:
        log = Log(kafka_bootstrap, hw_topics["executions"], client.codec)
        following = asyncio.create_task(log.follow())
        await client.publish(three_steps())
        for worker in workers:
            worker.start()
        try:
            sending = asyncio.create_task(send_starts(client, ids, seconds=kills * 12.0))
            began = time.monotonic()
            for kill in range(kills):
                # A random point while work is under way: after some progress, not at startup.
                await log.progress(len(log.records), set(ids), timeout_s=120)
                await asyncio.sleep(rng.uniform(0.0, 2.0))
                victim = rng.choice(workers)
                victim.kill()
                victim.start()
                print(f"{time.monotonic() - began:6.1f} s: kill {kill + 1} of {victim.data_dir.name}; "
                      f"{len(log.records)} events, {len(log.ended)} ended", flush=True)
            await sending
            await log.all_ended(set(ids), timeout_s=600 if FULL else 120)
            await asyncio.sleep(1)  # let the workers store and commit the last batch
        finally:
            codes = [worker.stop() for worker in workers]
        assert codes == [0, 0], [w.log_tail() for w in workers]
        await log.read_to_end()
        following.cancel()
        counts = check(log, set(ids), [w.store_path for w in workers], 6)
    print(f"crash test: {kills} kills, {counts}")
