"""A workflow's concurrency gate: who runs, who waits (pure decide/evolve, like an execution).

One gate per limited workflow, ``gate:<workflow id>``, lives on ``hw.commands`` /
``hw.executions`` beside the executions, so one worker owns it at a time and its state is a
fold of its events. `AcquireSlot` admits a ticket while fewer than ``limit`` run, else queues
it; `ReleaseSlot` frees a running ticket (or drops a queued one) and admits the next waiting:
the oldest of the highest priority (``critical``, ``high``, ``normal``, ``low``). Tickets, not execution ids, are counted: an execution that is
retried acquires again under a new ticket, and a stale release never frees a newer slot.

Duplicates are harmless: a command id seen recently yields nothing, an acquire of a ticket
the gate holds or queues yields nothing, a release of a ticket it neither holds nor queues
yields nothing. A very late duplicate acquire of a ticket already released re-admits it; the
execution answers that grant with `SlotReturned`, whose release frees it (a slot held for a
moment too long, never one too many running). See docs/engine.md, "Gates".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from schemas.commands import GATE_PREFIX, PRIORITY_RANK, AcquireSlot, ReleaseSlot
from schemas.gates import SlotGranted, SlotQueued, SlotReleased

__all__ = [
    "GATE_RECENT_COMMANDS",
    "GateEvent",
    "GateHistoryError",
    "GateState",
    "apply_gate",
    "evolve_gate",
    "gate_id",
    "is_gate",
    "replay_gate",
]

GATE_RECENT_COMMANDS = 1024
"""How many applied command ids a gate remembers (a redelivered poll is far fewer)."""

GateEvent = SlotQueued | SlotGranted | SlotReleased
"""Any event of a gate's history."""


class GateHistoryError(ValueError):
    """A gate history no gate could have produced (a sequence gap, another id)."""


def gate_id(workflow_id: str) -> str:
    """The id of the gate of ``workflow_id`` (its key on the commands and executions topics)."""
    return f"{GATE_PREFIX}{workflow_id}"


def is_gate(aggregate_id: str) -> bool:
    """True for a gate's id; such ids are reserved, never an execution's."""
    return aggregate_id.startswith(GATE_PREFIX)


@dataclass(slots=True)
class GateState:
    """Everything a gate knows.

    Attributes:
        gate_id: ``gate:<workflow id>``.
        limit: The limit of the latest acquire (the version most recently started).
        running: Ticket -> holder execution id, in the order they were admitted.
        queue: Ticket -> holder execution id waiting, oldest first.
        priorities: Ticket -> priority, for the queued tickets that are not ``normal``; the
            waiting ticket of the highest priority is admitted first, the oldest of it.
        recent: The last `GATE_RECENT_COMMANDS` command ids applied (newest last).

    Ordered dicts, not lists, hold the queue and the command ids: the oldest leaves and any
    is found in constant time, however many wait.
        seq: The sequence number of the last applied event.
    """

    gate_id: str
    limit: int
    running: dict[str, str] = field(default_factory=dict)
    queue: OrderedDict[str, str] = field(default_factory=OrderedDict)
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)
    seq: int = 0
    priorities: dict[str, str] = field(default_factory=dict)

    def copy(self) -> GateState:
        """A copy `evolve_gate` may change without touching this one."""
        return GateState(self.gate_id, self.limit, dict(self.running), OrderedDict(self.queue),
                         OrderedDict(self.recent), self.seq, dict(self.priorities))

    def next_waiting(self) -> str:
        """The queued ticket to admit next: the oldest of the highest priority waiting."""
        if not self.priorities:  # all normal: first in, first out
            return next(iter(self.queue))
        rank = PRIORITY_RANK.get
        top = max(rank(self.priorities.get(t, "normal"), 1) for t in self.queue)
        return next(t for t in self.queue if rank(self.priorities.get(t, "normal"), 1) == top)

    def to_bytes(self) -> bytes:
        """Serialise for the state store (compact JSON; the queue as pairs, in order)."""
        values = {"gate_id": self.gate_id, "limit": self.limit, "running": self.running,
                  "queue": list(self.queue.items()), "recent": list(self.recent),
                  "seq": self.seq}
        if self.priorities:
            values["priorities"] = self.priorities
        return orjson.dumps(values)

    @classmethod
    def from_bytes(cls, data: bytes) -> GateState:
        """Inverse of `to_bytes` (a state stored before priorities has none)."""
        values: dict[str, Any] = orjson.loads(data)
        values["queue"] = OrderedDict(values["queue"])
        values["recent"] = OrderedDict.fromkeys(values["recent"])
        return cls(**values)


def apply_gate(state: GateState | None, command: AcquireSlot | ReleaseSlot, *,
               owned: bool = False) -> tuple[list[GateEvent], GateState | None]:
    """Decide and fold in one pass: the events ``command`` causes and the state after them.

    Time and ids come from the command, so the result is the same on every worker.

    Args:
        state: The gate's state (None before its first acquire).
        command: The command.
        owned: False leaves ``state`` unchanged (it is copied first); True lets it be changed
            in place, for a caller that holds the only reference (a queue of thousands would
            otherwise be copied for every command).
    """
    if state is not None and command.command_id in state.recent:
        return [], state
    work = state.copy() if state is not None and not owned else state
    events: list[GateEvent] = []
    if isinstance(command, AcquireSlot):
        work = _acquire(work, command, events)
    elif work is not None:
        _release(work, command, events)
    return events, work


def _emit(state: GateState | None, events: list[GateEvent], event: GateEvent) -> GateState:
    events.append(event)
    return _apply(state, event)


def _fields(state: GateState | None, command: AcquireSlot | ReleaseSlot) -> dict[str, Any]:
    return {"execution_id": command.execution_id, "seq": (state.seq if state else 0) + 1,
            "time": command.time, "command_id": command.command_id}


def _acquire(state: GateState | None, command: AcquireSlot,
             events: list[GateEvent]) -> GateState | None:
    if state is not None and (command.ticket in state.running or command.ticket in state.queue):
        return state  # a redelivered acquire: the ticket already runs or waits
    free = state is None or (not state.queue and len(state.running) < command.limit)
    if free:
        event: GateEvent = SlotGranted(**_fields(state, command), ticket=command.ticket,
                                       holder=command.holder, limit=command.limit)
    else:
        event = SlotQueued(**_fields(state, command), ticket=command.ticket,
                           holder=command.holder, limit=command.limit, priority=command.priority)
    state = _emit(state, events, event)
    _admit_waiting(state, command, events)  # a raised limit lets more of the queue in
    return state


def _release(state: GateState, command: ReleaseSlot, events: list[GateEvent]) -> None:
    was: Literal["running", "queued"]
    if command.ticket in state.running:
        was = "running"
    elif command.ticket in state.queue:
        was = "queued"
    else:
        return  # released already, or never acquired: nothing to free
    _emit(state, events, SlotReleased(**_fields(state, command), ticket=command.ticket,
                                      holder=command.holder, was=was))
    _admit_waiting(state, command, events)


def _admit_waiting(state: GateState, command: AcquireSlot | ReleaseSlot,
                   events: list[GateEvent]) -> None:
    while state.queue and len(state.running) < state.limit:
        ticket = state.next_waiting()
        holder = state.queue[ticket]
        _emit(state, events, SlotGranted(**_fields(state, command), ticket=ticket,
                                         holder=holder, limit=state.limit))


def evolve_gate(state: GateState | None, event: GateEvent) -> GateState:
    """The state after ``event``; ``state`` itself is left unchanged.

    Raises:
        GateHistoryError: If the event cannot follow ``state``.
    """
    return _apply(state.copy() if state is not None else None, event)


def replay_gate(events: Iterable[GateEvent]) -> GateState | None:
    """Fold a stored gate history into the state a live worker held after it."""
    state: GateState | None = None
    for event in events:
        state = _apply(state, event)
    return state


def _apply(state: GateState | None, event: GateEvent) -> GateState:
    """Apply ``event`` to ``state`` in place (the caller owns ``state``)."""
    if state is None:
        if event.seq != 1 or isinstance(event, SlotReleased):
            raise GateHistoryError(f"a gate history begins with seq 1, not {event.type} "
                                   f"seq {event.seq}")
        state = GateState(event.execution_id, event.limit)
    elif event.seq != state.seq + 1 or event.execution_id != state.gate_id:
        raise GateHistoryError(f"event seq {event.seq} of {event.execution_id!r} cannot "
                               f"follow seq {state.seq} of {state.gate_id!r}")
    if isinstance(event, SlotReleased):
        state.running.pop(event.ticket, None)
        state.queue.pop(event.ticket, None)
        state.priorities.pop(event.ticket, None)
    else:
        state.limit = event.limit
        if isinstance(event, SlotGranted):
            state.queue.pop(event.ticket, None)
            state.priorities.pop(event.ticket, None)
            state.running[event.ticket] = event.holder
        else:
            state.queue[event.ticket] = event.holder
            if event.priority != "normal":
                state.priorities[event.ticket] = event.priority
    state.seq = event.seq
    if event.command_id not in state.recent:
        state.recent[event.command_id] = None
        if len(state.recent) > GATE_RECENT_COMMANDS:
            state.recent.popitem(last=False)
    return state
