"""The execution processor: commands in, execution events out, state kept, at least once.

For each batch of `hw.commands` records of one partition, in order: decode the command, load
the execution's state, call the pure `apply_command`, produce the events to `hw.executions`
(and the tasks and commands they cause), wait for the broker's acks, store the new states with
the partition's checkpoint in one atomic write, then commit the command offsets. A crash at any
point leaves either nothing or events that `_catch_up` folds in on restart; a redelivered
command then finds its id in `State.recent` and is a no-op, so it causes no second transition.
Undecodable commands and commands for unknown workflows or executions become dead letters.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.partitioner import murmur2
from pydantic import BaseModel

from schemas.codec import Codec, DecodeError
from schemas.commands import CommandBase, StartExecution
from streams.executions.catch_up import CatchUp
from streams.executions.gating import GateRouter
from streams.executions.routing import follow_ups
from streams.executions.store import StateStore
from streams.executions.timers import TimerWheel, timer_command
from streams.machine import GateState, State, apply_command, is_gate
from streams.runtime.dead_letters import DeadLetterSink, Record
from streams.runtime.outbox import Outbox
from streams.runtime.registry import DefinitionsFeed, Entry

__all__ = ["ExecutionProcessor", "Refused"]

log = logging.getLogger(__name__)


class Refused(Exception):
    """A command the processor cannot apply; it becomes a dead letter with `reason`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass
class _Batch:
    """What one poll changes: new states per partition, and the records to produce."""

    outbox: Outbox
    states: dict[int, dict[str, State]] = field(default_factory=dict)
    gates: dict[int, dict[str, GateState]] = field(default_factory=dict)

    def changed(self, partition: int) -> dict[str, State]:
        return self.states.setdefault(partition, {})

    def to_store(self, partition: int) -> dict[str, State | GateState]:
        return {**self.changed(partition), **self.gates.get(partition, {})}


class ExecutionProcessor(ConsumerRebalanceListener):  # type: ignore[misc]
    """Consumes `hw.commands` in a consumer group; one owner per partition at a time.

    Args:
        bootstrap: Kafka bootstrap servers.
        group: The consumer group id.
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        producer: A started producer (acks=all, idempotent).
        store: The local state store.
        definitions: The definitions feed (must be running).
        dead_letters: Where refused records go.
    """

    def __init__(self, bootstrap: str, group: str, topics: dict[str, str], codec: Codec,
                 producer: AIOKafkaProducer, store: StateStore, definitions: DefinitionsFeed,
                 dead_letters: DeadLetterSink) -> None:
        self._bootstrap, self._topics, self._codec = bootstrap, topics, codec
        self._producer, self._store, self._definitions = producer, store, definitions
        self._dead = dead_letters
        self._gates = GateRouter(topics, codec, producer, store)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_interval_ms=300_000)
        self._lock = asyncio.Lock()
        self._wheels: dict[int, TimerWheel] = {}
        self._keys: dict[str, tuple[bytes | None, int]] = {}
        self._partitions, self._tasks_copartitioned = 1, False

    async def start(self) -> None:
        """Join the group (partitions come through the rebalance callbacks)."""
        counts = {role: len(await self._producer.partitions_for(self._topics[role]))
                  for role in ("commands", "executions", "tasks")}
        if counts["executions"] != counts["commands"]:
            raise RuntimeError(f"commands and executions must be co-partitioned: {counts}")
        self._partitions = counts["commands"]
        self._tasks_copartitioned = counts["tasks"] == counts["commands"]
        await self._consumer.start()
        self._consumer.subscribe([self._topics["commands"]], listener=self)

    async def stop(self) -> None:
        """Leave the group (cancel `run` first; a batch cut short is redelivered)."""
        await self._consumer.stop()

    async def run(self) -> None:
        """Process batches until cancelled."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=2000)
            async with self._lock:
                owned = {tp: records for tp, records in batches.items()
                         if tp.partition in self._wheels and records}
                if owned:
                    await self._process(owned)
                await self._fire_timers(datetime.now(UTC))

    # -- partition ownership ------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Holding the lock means the batch in flight is produced, stored and committed first.
        async with self._lock:
            for tp in revoked:
                self._wheels.pop(tp.partition, None)
                self._store.forget(tp.partition)  # whoever takes it next changes its states

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        async with self._lock:
            for tp in assigned:
                await self._catch_up(tp.partition)
                wheel = TimerWheel()
                for state in self._store.states(tp.partition):
                    wheel.sync(state)
                self._wheels[tp.partition] = wheel
            log.info("processor owns partitions %s", sorted(self._wheels))

    async def _catch_up(self, partition: int) -> None:
        """Fold `hw.executions` from the store's checkpoint to the end of the partition."""
        tp = TopicPartition(self._topics["executions"], partition)
        reader = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None,
                                  enable_auto_commit=False)
        await reader.start()
        try:
            reader.assign([tp])
            end = (await reader.end_offsets([tp]))[tp]
            position = self._store.checkpoint(partition)
            reader.seek(tp, position)
            fold = CatchUp(self._store, self._codec, partition)
            while position < end:
                records = (await reader.getmany(tp, timeout_ms=1000, max_records=5000)).get(tp, [])
                await self._fold(fold, records)
                position = await reader.position(tp)
                self._store.write(partition, {}, position)
            if fold.count:
                log.info("partition %d: folded %d events written elsewhere", partition, fold.count)
            await self._gates.resend(fold.resend())
        finally:
            await reader.stop()

    async def _fold(self, fold: CatchUp, records: list[Any]) -> None:
        # An event that cannot be folded freezes its execution: say so on the dead letters.
        for record, reason, message in fold.fold(records):
            await self._dead.refuse(record, reason, message, "processor.catch_up")

    # -- commands -----------------------------------------------------------------------------

    async def _process(self, polled: dict[TopicPartition, list[Any]]) -> None:
        """Apply a poll's commands; produce, wait for acks, store, then commit (in that order)."""
        batch = _Batch(Outbox(self._producer))
        for tp, records in polled.items():
            for record in records:
                try:
                    await self._apply(batch, tp.partition, record)
                except Refused as exc:
                    await self._dead.refuse(record, exc.reason, exc.message, "processor")
        ends = await batch.outbox.flush()
        topic = self._topics["executions"]
        self._store.write_many({
            tp.partition: (batch.to_store(tp.partition), ends.get((topic, tp.partition)))
            for tp in polled})
        for partition, states in batch.states.items():
            wheel = self._wheels[partition]
            for state in states.values():
                wheel.sync(state)
        try:
            await self._consumer.commit({tp: records[-1].offset + 1 for tp, records in polled.items()})
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved on: their new owner re-reads these commands and, finding
            # their ids in the states folded from the log, applies none of them twice.
            log.info("commit of %s skipped: %s", sorted(polled), exc)

    async def _apply(self, batch: _Batch, partition: int, record: Record) -> None:
        command = self._decode(record)
        eid = command.execution_id
        if is_gate(eid):
            gates = batch.gates.setdefault(partition, {})
            refusal = await self._gates.apply(gates, batch.outbox, partition, record.key, command)
            if refusal is not None:
                raise Refused("not_a_gate_command", refusal)
            return
        changed = batch.changed(partition)
        state = changed[eid] if eid in changed else self._store.get(partition, eid)
        entry = await self._definition(state, command)
        events, new_state = apply_command(state, command, entry.plan())
        if not events:
            if state is None:
                # A start the core could not apply (it refuses with an event only once an
                # execution exists): the caller was told "accepted", so keep it, with the reason.
                raise Refused("start_not_applied", f"{type(command).__name__} produced no execution")
            return
        assert new_state is not None
        changed[eid] = new_state
        topic = self._topics["executions"]
        key = record.key
        for event in events:
            # Co-partitioned with `hw.commands` (the key was checked in `_decode`).
            await batch.outbox.append(topic, partition, key, self._codec.encode_value(topic, event))
        for out in follow_ups(events, new_state.workflow_id, new_state.workflow_version,
                              new_state.slot):
            value = self._codec.encode_value(self._topics[out.role], out.value)
            if out.role == "tasks" and out.key == eid and self._tasks_copartitioned:
                await batch.outbox.append(self._topics["tasks"], partition, key, value)
            else:
                topic = self._topics[out.role]
                await batch.outbox.send(topic, self._codec.encode_key(topic, out.key), value)

    async def _send(self, role: str, key: str, value: BaseModel) -> asyncio.Future[Any]:
        topic = self._topics[role]
        future: asyncio.Future[Any] = await self._producer.send(
            topic, self._codec.encode_value(topic, value), key=self._codec.encode_key(topic, key))
        return future

    def _decode(self, record: Record) -> CommandBase:
        try:
            command = self._codec.decode_value(record.topic, record.value,
                                               partition=record.partition, offset=record.offset)
        except DecodeError as exc:
            raise Refused(exc.reason, exc.detail) from None
        assert isinstance(command, CommandBase)
        key, partition = self._canonical(command.execution_id)
        if record.key != key:
            # Another key encoding would put the execution on two partitions, with two owners.
            raise Refused("key_mismatch", f"the key is not the encoded id {command.execution_id!r}")
        if record.partition != partition:
            # Its events go to this partition of hw.executions; the key's partition must agree.
            raise Refused("wrong_partition", f"the key's partition is {partition}")
        return command

    def _canonical(self, execution_id: str) -> tuple[bytes | None, int]:
        """The encoded key of an execution and its partition (the default partitioner's)."""
        found = self._keys.get(execution_id)
        if found is None:
            key = self._codec.encode_key(self._topics["commands"], execution_id)
            partition = ((murmur2(key) & 0x7FFFFFFF) if key else 0) % self._partitions
            if len(self._keys) > 100_000:
                self._keys.clear()
            found = self._keys[execution_id] = (key, partition)
        return found

    async def _definition(self, state: State | None, command: CommandBase) -> Entry:
        if state is not None:
            wanted: tuple[str, str | None] = (state.workflow_id, state.workflow_version)
        elif isinstance(command, StartExecution):
            wanted = (command.workflow_id, command.version)
        else:
            raise Refused("unknown_execution", f"no execution {command.execution_id!r} started")
        entry = self._definitions.registry.workflow(*wanted)
        if entry is None:
            # Perhaps published a moment ago: read the definitions topic up to now, once.
            await self._definitions.sync()
            entry = self._definitions.registry.workflow(*wanted)
        if entry is None:
            raise Refused("unknown_workflow", f"no workflow {wanted[0]!r} version {wanted[1]!r}")
        return entry

    # -- timers -------------------------------------------------------------------------------

    async def _fire_timers(self, now: datetime) -> None:
        sends = [await self._send("commands", eid, timer_command(eid, timer_id, now))
                 for wheel in self._wheels.values() for eid, timer_id in wheel.due(now)]
        if sends:
            await asyncio.gather(*sends)
