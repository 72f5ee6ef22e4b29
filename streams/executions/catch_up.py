"""Folding a partition of ``hw.executions`` into the store: what `_catch_up` does per record.

Execution events go through `evolve`, gate events through `evolve_gate`; only the next
``seq`` of each aggregate applies (a lower one is a duplicate). Nothing is skipped silently:
an event that cannot be decoded, one that leaves a gap in its execution's history (every
event after an unreadable one does) and one that cannot follow its state become dead letters
naming the execution, so a frozen execution is visible on ``hw.dead-letters`` under its own key.

The fold also collects the slot commands its events caused (acquire, release, grant): the
worker that wrote those events may have crashed before the commands were acknowledged.
"""

from __future__ import annotations

from schemas.codec import Codec, DecodeError
from schemas.executions import TERMINAL_EVENT_TYPES, ExecutionEventBase
from schemas.gates import ExecutionQueued, SlotGranted, SlotReturned
from streams.executions.routing import follow_ups, grants, release
from streams.executions.store import StateStore
from streams.machine import (
    GateHistoryError,
    GateState,
    HistoryError,
    State,
    evolve,
    evolve_gate,
    gate_id,
    is_gate,
)
from streams.runtime.dead_letters import Record
from streams.runtime.outgoing import Outgoing

__all__ = ["CatchUp", "Refusal"]

Refusal = tuple[Record, str, str]
"""A record to dead-letter: the record, the reason, a message naming the execution."""


class CatchUp:
    """Folds one partition's events, chunk by chunk, into the store.

    Args:
        store: The processor's state store.
        codec: The codec (for the executions topic).
        partition: The partition being caught up.
    """

    def __init__(self, store: StateStore, codec: Codec, partition: int) -> None:
        self._store, self._codec, self._partition = store, codec, partition
        self.count = 0
        self._queued: dict[str, ExecutionQueued] = {}  # execution id -> its folded queueing
        self._granted: dict[str, SlotGranted] = {}  # ticket -> its folded grant
        self._releases: list[Outgoing] = []
        self._pending: dict[str, State | GateState] = {}

    def fold_one(self, record: Record) -> tuple[str, str] | None:
        """Fold one record into the pending states; why it cannot be folded, or None."""
        return self._fold_one(self._pending, record)

    def write(self, checkpoint: int) -> None:
        """Store the pending states with `checkpoint` (the next offset they reflect), at once."""
        self._store.write(self._partition, self._pending, checkpoint)
        self._pending = {}

    def fold(self, records: list[Record]) -> list[Refusal]:
        """Fold `records` (in offset order) and store the states; the records to refuse."""
        states: dict[str, State | GateState] = {}
        refused: list[Refusal] = []
        for record in records:
            problem = self._fold_one(states, record)
            if problem is not None:
                refused.append((record, *problem))
        self._store.write(self._partition, states, None)
        return refused

    def _fold_one(self, states: dict[str, State | GateState], record: Record
                  ) -> tuple[str, str] | None:
        try:
            event = self._codec.decode_value(record.topic, record.value,
                                             partition=record.partition, offset=record.offset)
        except DecodeError as exc:
            return exc.reason, f"execution {self._key(record)!r}: event unreadable, its " \
                               f"execution stops here ({exc.detail})"
        assert isinstance(event, ExecutionEventBase)
        eid = event.execution_id
        state = states[eid] if eid in states else self._load(eid)
        expected = (state.seq if state is not None else 0) + 1
        if event.seq < expected:
            return None  # a duplicate of an event already applied
        if event.seq > expected:
            return "history_gap", f"execution {eid!r}: event seq {event.seq} after seq " \
                                  f"{expected - 1} (an earlier event was unreadable)"
        try:
            new = (evolve_gate(state, event) if is_gate(eid)  # type: ignore[arg-type]
                   else evolve(state, event))  # type: ignore[arg-type]
        except (HistoryError, GateHistoryError) as exc:
            return "history_error", f"execution {eid!r}: {exc}"
        if new is not None:
            states[eid] = new
            self.count += 1
            self._note(event, new)
        return None

    def _load(self, eid: str) -> State | GateState | None:
        if is_gate(eid):
            return self._store.get_gate(self._partition, eid)
        return self._store.get(self._partition, eid)

    def _key(self, record: Record) -> str:
        try:
            return str(self._codec.decode_key(record.topic, record.key))
        except DecodeError:
            return repr(record.key)

    def _note(self, event: ExecutionEventBase, state: State | GateState) -> None:
        if isinstance(event, ExecutionQueued):
            self._queued[event.execution_id] = event
        elif isinstance(event, SlotGranted):
            self._granted[event.ticket] = event
        elif isinstance(event, SlotReturned):
            self._releases.append(release(event, event.gate_id, event.ticket))
        elif event.type in TERMINAL_EVENT_TYPES:  # type: ignore[attr-defined]
            assert isinstance(state, State)
            if state.slot is not None:
                self._releases.append(release(event, gate_id(state.workflow_id), state.slot))

    def resend(self) -> list[Outgoing]:
        """The slot commands to produce again after the fold.

        Acquires of executions still queued on the ticket they were folded with, releases of
        every end and returned grant folded, grants the gate still holds.
        """
        out: list[Outgoing] = []
        for eid, queued in self._queued.items():
            state = self._store.get(self._partition, eid)
            if state is not None and state.status == "queued" and state.slot == queued.ticket:
                out += follow_ups([queued], queued.workflow_id, queued.workflow_version)
        out += self._releases
        for ticket, granted in self._granted.items():
            gate = self._store.get_gate(self._partition, granted.execution_id)
            if gate is not None and ticket in gate.running:
                out += grants([granted])
        return out
