"""The execution processor: commands in, execution events out, state kept, at least once.

A handler on the partition loop (`streams.runtime.loop`, which owns the cycle: produce, wait for
the acks, store with checkpoint, commit). Per command, in offset order: decode it, load the
execution's state, call the pure `apply_command`, and stage its events for `hw.executions`
(and the tasks and commands they cause). `store` writes the cycle's new states with the
partition's checkpoint (the next `hw.executions` offset they reflect) in one atomic write.

A crash at any point leaves either nothing or events that the replay on assignment folds in
(`streams.executions.catch_up`); a redelivered command then finds its id in `State.recent` and
is a no-op, so it causes no second transition. Undecodable commands and commands for unknown
workflows or executions are refused (dead letters); a command whose events are larger than
their topic takes is refused as `input_too_large`, and its execution does not move.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas.codec import Codec
from schemas.commands import (
    CommandBase,
    ErrorInfo,
    MigrateExecution,
    SignalReceived,
    StartExecution,
    TaskCompleted,
    TaskFailed,
)
from schemas.definitions import WorkflowDefinition
from streams.executions.alerting import alert_records
from streams.executions.catch_up import CatchUp
from streams.executions.gating import GateRouter
from streams.executions.reach import child_refusal, rule_signal_refusal, rule_start_refusal
from streams.executions.routing import follow_ups
from streams.executions.store import StateStore
from streams.executions.timers import TimerWheel, timer_command
from streams.machine import GateState, Plan, State, apply_command, is_gate
from streams.runtime import (
    Checkpoint,
    DefinitionsFeed,
    Entry,
    Out,
    Outgoing,
    Record,
    Refused,
    Replay,
    TooLarge,
    TopicTable,
    decode_record,
    partition_for,
)

__all__ = ["ExecutionProcessor"]

log = logging.getLogger(__name__)


class ExecutionProcessor:
    """The handler of `hw.commands` (one owner per partition at a time).

    Args:
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        table: Partition counts and size limits of the topics.
        store: The local state store.
        definitions: The definitions feed (must be running).

    Raises:
        RuntimeError: `hw.commands` and `hw.executions` are not co-partitioned.
    """

    name = "processor"

    def __init__(self, topics: dict[str, str], codec: Codec, table: TopicTable,
                 store: StateStore, definitions: DefinitionsFeed) -> None:
        self._topics, self._codec, self._store = topics, codec, store
        self._definitions = definitions
        counts = {role: table.count(topics[role]) for role in ("commands", "executions", "tasks")}
        if counts["executions"] != counts["commands"]:
            raise RuntimeError(f"commands and executions must be co-partitioned: {counts}")
        self._partitions = counts["commands"]
        self._tasks_copartitioned = counts["tasks"] == counts["commands"]
        self._gates = GateRouter(topics, codec, store)
        self._wheels: dict[int, TimerWheel] = {}
        self._keys: dict[str, tuple[bytes | None, int]] = {}
        self._changed: dict[int, dict[str, State]] = {}
        self._gate_states: dict[int, dict[str, GateState]] = {}
        self._catching: dict[int, CatchUp] = {}
        self._resend: list[Outgoing] = []
        self._behind: set[int] = set()
        """Partitions whose checkpoint stays: another writer's records follow it (`_advance`)."""

    # -- partition ownership ------------------------------------------------------------------

    async def assigned(self, partition: int, committed: int) -> Replay | None:
        """Fold `hw.executions` from the store's checkpoint to its end (states others wrote)."""
        self._catching[partition] = CatchUp(self._store, self._codec, partition)
        self._behind.discard(partition)
        return Replay(self._topics["executions"], self._store.checkpoint(partition))

    def replay(self, record: Record) -> None:
        """Fold one execution event (an event that cannot be folded is refused: the loop
        dead-letters it, naming the execution, which stops there)."""
        problem = self._catching[record.partition].fold_one(record)
        if problem is not None:
            raise Refused(*problem)

    def replayed(self, partition: int, position: int) -> None:
        """Store the folded states with `position` as the partition's checkpoint."""
        self._catching[partition].write(position)

    def revoked(self, partition: int) -> None:
        self._behind.discard(partition)
        self._wheels.pop(partition, None)
        self._catching.pop(partition, None)
        self._store.forget(partition)  # whoever takes it next changes its states

    def holding(self, partition: int) -> int | None:
        return None  # every command is done within its cycle

    # -- commands -----------------------------------------------------------------------------

    async def process(self, record: Record, out: Out) -> None:
        """Apply one command; stage its events and follow-ups."""
        command = self._decode(record)
        partition = record.partition
        if is_gate(command.execution_id):
            gates = self._gate_states.setdefault(partition, {})
            refusal = self._gates.apply(gates, out, partition, record.key, command)
            if refusal is not None:
                raise Refused("not_a_gate_command", refusal)
            return
        changed = self._changed.setdefault(partition, {})
        eid = command.execution_id
        state = changed[eid] if eid in changed else self._store.get(partition, eid)
        entry = await self._definition(state, command)
        assert isinstance(entry.definition, WorkflowDefinition)
        if (state is None and isinstance(command, StartExecution)) or isinstance(
                command, SignalReceived):
            registry = self._definitions.registry
            refused = (rule_start_refusal(registry, command, entry.definition)
                       if isinstance(command, StartExecution)
                       else rule_signal_refusal(registry, command, entry.definition))
            if refused is not None:  # an outcome with the reason; the execution is untouched
                topic = self._topics["rule-outcomes"]
                out.put(topic, self._codec.encode_key(topic, refused.rule_id),
                        self._codec.encode_value(topic, refused))
                return
        target = await self._target(state, command)
        events, new_state = apply_command(state, command, entry.plan(), target)
        if not events:
            if state is None:
                # A start the core could not apply (it refuses with an event only once an
                # execution exists): the caller was told "accepted", so keep it, with the reason.
                raise Refused("start_not_applied", f"{type(command).__name__} produced no execution")
            return
        assert new_state is not None
        mark = out.mark()
        try:
            self._stage(out, partition, record.key, events, new_state, entry.definition)
        except TooLarge as exc:
            if not isinstance(command, TaskCompleted) or state is None:
                raise  # refused whole: a dead letter naming the size and the limit
            # An output that fits `hw.commands` but not the events it makes: the step fails
            # with the size and the limit, so its retry and error paths apply.
            out.rollback(mark)
            events, new_state = apply_command(state, too_large(command, exc), entry.plan())
            if not events:
                return
            assert new_state is not None
            self._stage(out, partition, record.key, events, new_state, entry.definition)
        changed[eid] = new_state  # only once every record of the command is staged

    def _stage(self, out: Out, partition: int, key: bytes | None, events: list[Any],
               state: State, definition: WorkflowDefinition) -> None:
        topic = self._topics["executions"]
        for event in events:
            # Co-partitioned with `hw.commands` (the key was checked in `_decode`).
            out.put(topic, key, self._codec.encode_value(topic, event), partition)
        for follow in [*follow_ups(events, state.workflow_id, state.workflow_version, state.slot),
                       *alert_records(events, definition)]:
            if isinstance(follow.value, StartExecution):  # a child: may its parent start it?
                failed = child_refusal(self._definitions.registry, definition, follow.value)
                if failed is not None:
                    follow = Outgoing("commands", failed.execution_id, failed)
            topic = self._topics[follow.role]
            value = self._codec.encode_value(topic, follow.value)
            if follow.role == "tasks" and follow.key == state.execution_id \
                    and self._tasks_copartitioned:
                out.put(topic, key, value, partition)
            else:
                out.put(topic, self._codec.encode_key(topic, follow.key), value)

    def store(self, checkpoints: Mapping[int, Checkpoint]) -> None:
        """Write the cycle's states with each partition's `hw.executions` checkpoint, at once."""
        self._store.write_many({
            partition: ({**self._changed.get(partition, {}),
                         **self._gate_states.get(partition, {})},
                        self._advance(partition, checkpoint))
            for partition, checkpoint in checkpoints.items()})
        for partition, states in self._changed.items():
            wheel = self._wheels.get(partition)
            if wheel is not None:
                for state in states.values():
                    wheel.sync(state)
        self._changed.clear()
        self._gate_states.clear()

    def _advance(self, partition: int, checkpoint: Checkpoint) -> int | None:
        """The partition's new checkpoint: the end of what the cycle appended, if it appended
        right after the stored checkpoint; else None (kept), since records of another writer
        lie in between that the store never folded. That writer is this worker cut off from
        the brokers while another took the partition over (or that other one, when this
        worker is the one that was cut off): its records are acknowledged once the network
        heals, and a checkpoint past them would skip them on the next catch-up (found by the
        chaos network scenario). A kept checkpoint costs a longer catch-up, never a state.
        """
        where = (self._topics["executions"], partition)
        end = checkpoint.written.get(where)
        began = checkpoint.began.get(where)
        if end is None or began is None or partition in self._behind:
            return None if partition in self._behind else end
        stored = self._store.checkpoint(partition)
        if began != stored:
            # Kept until the partition is assigned again (its catch-up folds the gap).
            self._behind.add(partition)
            log.warning("%s[%d]: this cycle's events landed at %d, the store reflects up to %d: "
                        "another writer in between; the checkpoint stays until a catch-up",
                        where[0], partition, began, stored)
            return None
        return end

    def _decode(self, record: Record) -> CommandBase:
        command = decode_record(self._codec, record)
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
            if len(self._keys) > 100_000:
                self._keys.clear()
            found = self._keys[execution_id] = (key, partition_for(key, self._partitions))
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

    async def _target(self, state: State | None, command: CommandBase) -> Plan | None:
        """A migration's target version (None: not published; the core refuses it by name)."""
        if state is None or not isinstance(command, MigrateExecution):
            return None
        registry = self._definitions.registry
        entry = registry.workflow(state.workflow_id, command.to_version)
        if entry is None:
            await self._definitions.sync()
            entry = registry.workflow(state.workflow_id, command.to_version)
        return None if entry is None else entry.plan()

    # -- the clock ----------------------------------------------------------------------------

    async def tick(self, now: datetime, out: Out) -> None:
        """Index the timers of partitions just caught up, resend what their catch-up found,
        fire the due timers."""
        for partition, fold in self._catching.items():
            self._resend += fold.resend()
            wheel = self._wheels[partition] = TimerWheel()
            for state in self._store.states(partition):
                wheel.sync(state)
        self._catching.clear()
        for follow in self._resend:
            topic = self._topics[follow.role]
            out.put(topic, self._codec.encode_key(topic, follow.key),
                    self._codec.encode_value(topic, follow.value))
        self._resend.clear()
        topic = self._topics["commands"]
        for wheel in self._wheels.values():
            for eid, timer_id in wheel.due(now):
                key, _ = self._canonical(eid)
                out.put(topic, key, self._codec.encode_value(topic, timer_command(eid, timer_id, now)))


def too_large(command: TaskCompleted, exc: TooLarge) -> TaskFailed:
    """The failure that stands for a task answer whose events would be over their limit."""
    error = ErrorInfo(code="output_too_large", retryable=False,
                      message=f"the step's output makes a record of {exc.size} bytes for "
                              f"{exc.topic}, over its limit of {exc.limit} bytes",
                      details={"size": exc.size, "limit": exc.limit})
    return TaskFailed(command_id=command.command_id, execution_id=command.execution_id,
                      time=command.time, task_id=command.task_id, error=error)
