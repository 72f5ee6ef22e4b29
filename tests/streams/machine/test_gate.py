"""The concurrency gate's pure core: admits up to the limit, first in first out, no leak,
duplicates harmless, and a gate rebuilt from its events equals the live one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.commands import AcquireSlot, ReleaseSlot
from schemas.gates import SlotGranted
from streams.machine.gate import GateState, apply_gate, replay_gate

T0 = datetime(2024, 1, 1, tzinfo=UTC)
GATE = "gate:wf"


def acquire(n: int, limit: int = 2, priority: str = "normal") -> AcquireSlot:
    return AcquireSlot(command_id=f"e{n}:slot1:acquire", execution_id=GATE,
                       time=T0 + timedelta(seconds=n), holder=f"e{n}", ticket=f"e{n}:slot1",
                       limit=limit, priority=priority)  # type: ignore[arg-type]


def release(n: int) -> ReleaseSlot:
    return ReleaseSlot(command_id=f"e{n}:slot1:release", execution_id=GATE,
                       time=T0 + timedelta(seconds=n), holder=f"e{n}", ticket=f"e{n}:slot1")


class Gate:
    """Drives one gate and checks, after every command, that replay equals the live state."""

    def __init__(self) -> None:
        self.state: GateState | None = None
        self.events: list[Any] = []

    def send(self, command: AcquireSlot | ReleaseSlot) -> list[str]:
        given = self.state
        frozen = given.to_bytes() if given is not None else None
        events, self.state = apply_gate(given, command)
        assert (given.to_bytes() if given is not None else None) == frozen
        in_place = apply_gate(given.copy() if given is not None else None, command, owned=True)
        assert in_place == (events, self.state)
        self.events.extend(events)
        assert replay_gate(self.events) == self.state
        if self.state is not None:
            assert GateState.from_bytes(self.state.to_bytes()) == self.state
        return [f"{e.type}:{e.holder}" for e in events]

    @property
    def running(self) -> list[str]:
        return list(self.state.running.values()) if self.state else []

    @property
    def waiting(self) -> list[str]:
        return list(self.state.queue.values()) if self.state else []


def test_admits_up_to_the_limit_then_queues_and_a_release_admits_the_oldest_waiting() -> None:
    gate = Gate()
    assert gate.send(acquire(1)) == ["slot_granted:e1"]
    assert gate.send(acquire(2)) == ["slot_granted:e2"]
    assert gate.send(acquire(3)) == ["slot_queued:e3"]
    assert gate.send(acquire(4)) == ["slot_queued:e4"]
    assert gate.send(release(2)) == ["slot_released:e2", "slot_granted:e3"]
    assert (gate.running, gate.waiting) == (["e1", "e3"], ["e4"])


def test_the_highest_priority_waiting_goes_first_then_the_oldest_of_it() -> None:
    gate = Gate()
    gate.send(acquire(1, limit=1))
    for n, priority in ((2, "low"), (3, "normal"), (4, "critical"), (5, "high"), (6, "critical"),
                        (7, "normal")):
        assert gate.send(acquire(n, limit=1, priority=priority)) == [f"slot_queued:e{n}"]
    admitted = []
    for n in (1, 4, 6, 5, 3, 7, 2):
        granted = gate.send(release(n))[1:]
        admitted += [g.removeprefix("slot_granted:") for g in granted]
    assert admitted == ["e4", "e6", "e5", "e3", "e7", "e2"]
    assert gate.state is not None and gate.state.priorities == {}


def test_a_queued_ticket_that_leaves_forgets_its_priority() -> None:
    gate = Gate()
    gate.send(acquire(1, limit=1))
    gate.send(acquire(2, limit=1, priority="critical"))
    gate.send(acquire(3, limit=1))
    assert gate.send(release(2)) == ["slot_released:e2"]  # cancelled while queued
    assert gate.send(release(1)) == ["slot_released:e1", "slot_granted:e3"]


def test_a_redelivered_acquire_or_release_changes_nothing() -> None:
    gate = Gate()
    gate.send(acquire(1, limit=1))
    gate.send(acquire(2, limit=1))
    assert gate.send(acquire(1, limit=1)) == []
    assert gate.send(acquire(2, limit=1)) == []
    assert gate.send(release(1)) == ["slot_released:e1", "slot_granted:e2"]
    assert gate.send(release(1)) == []
    assert gate.send(acquire(1, limit=1)) == []  # remembered: not admitted a second time
    assert (gate.running, gate.waiting) == (["e2"], [])


def test_releasing_a_queued_ticket_takes_it_out_of_the_queue_and_admits_no_one() -> None:
    gate = Gate()
    for n in (1, 2, 3):
        gate.send(acquire(n, limit=1))
    assert gate.send(release(2)) == ["slot_released:e2"]
    assert gate.events[-1].was == "queued"
    assert gate.send(release(1)) == ["slot_released:e1", "slot_granted:e3"]


def test_a_release_before_any_acquire_and_a_stray_release_do_nothing() -> None:
    gate = Gate()
    assert gate.send(release(1)) == []
    gate.send(acquire(1))
    assert gate.send(release(9)) == []


def test_a_raised_limit_admits_the_waiting_in_order_and_a_new_one_does_not_jump_the_queue() -> None:
    gate = Gate()
    for n in (1, 2, 3):
        gate.send(acquire(n, limit=1))
    assert gate.send(acquire(4, limit=3)) == ["slot_queued:e4", "slot_granted:e2",
                                              "slot_granted:e3"]
    assert (gate.running, gate.waiting) == (["e1", "e2", "e3"], ["e4"])


def test_apply_gate_leaves_its_input_alone() -> None:
    _, state = apply_gate(None, acquire(1, limit=1))
    assert state is not None
    frozen = state.to_bytes()
    apply_gate(state, acquire(2, limit=1))
    apply_gate(state, release(1))
    assert state.to_bytes() == frozen


Step = tuple[str, int]
steps = st.lists(st.tuples(st.sampled_from(["acquire", "release", "again"]),
                           st.integers(0, 7)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(limit=st.integers(1, 3), script=steps)
def test_laws_over_any_order_of_acquires_releases_and_redeliveries(
        limit: int, script: list[Step]) -> None:
    gate, sent = Gate(), []
    acquired: list[int] = []  # in the order the gate first saw them
    granted_order: list[str] = []
    for kind, n in script:
        if kind == "again" and sent:
            command = sent[n % len(sent)]  # a redelivery of anything already sent
        elif kind == "release":
            command = release(n)
        else:
            command = acquire(n, limit)
        sent.append(command)
        seen = len(gate.events)
        gate.send(command)
        granted_order += [e.holder for e in gate.events[seen:] if isinstance(e, SlotGranted)]
        if isinstance(command, AcquireSlot) and int(command.holder[1:]) not in acquired:
            acquired.append(int(command.holder[1:]))
        state = gate.state
        if state is None:
            continue
        assert len(state.running) <= limit
        assert not set(state.running) & set(state.queue)
        assert not state.queue or len(state.running) == limit  # work-conserving
    # Each ticket is granted at most once, in the order it first asked.
    assert len(granted_order) == len(set(granted_order))
    assert granted_order == [f"e{n}" for n in acquired if f"e{n}" in granted_order]
    # Everything released last: nothing leaks.
    for n in range(8):
        gate.send(release(n))
    assert gate.running == [] and gate.waiting == []
