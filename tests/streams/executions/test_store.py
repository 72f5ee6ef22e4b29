"""The state store: what `get` gives is what the disk holds, with or without the cache in front."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas.commands import StartExecution, TaskCompleted
from schemas.definitions import WorkflowDefinition
from streams.executions.store import StateStore
from streams.machine import GateState, State, apply_command, compile_plan

PLAN = compile_plan(WorkflowDefinition.model_validate({
    "id": "three", "name": "three", "steps": [
        {"id": s, "type": "action", "action": "transform", "with": {"n": "${ input.n }"}}
        for s in "abc"]}))
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def history(execution_id: str) -> list[State]:
    """Every state one execution of PLAN passes through, start to completion."""
    start = StartExecution(command_id=f"{execution_id}:start", execution_id=execution_id,
                           time=T0, workflow_id="three", input={"n": 1})
    _, state = apply_command(None, start, PLAN)
    assert state is not None
    states = [state]
    while not state.finished:
        task = next(iter(state.tasks))
        done = TaskCompleted(command_id=f"{task}:done", execution_id=execution_id,
                             time=T0 + timedelta(seconds=len(states)), task_id=task,
                             output={"n": len(states)})
        _, state = apply_command(state, done, PLAN)
        assert state is not None
        states.append(state)
    return states


def test_every_state_read_back_equals_what_a_fresh_store_reads_from_disk(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "db")
    seen: dict[str, State] = {}
    for step in range(4):
        for n in range(5):
            eid = f"e{n}"
            state = history(eid)[step]
            store.write(n % 2, {eid: state}, checkpoint=step)
            seen[eid] = state
            assert store.get(n % 2, eid) == state
    store.close()

    reopened = StateStore(tmp_path / "db", cached=0)
    for n in range(5):
        assert reopened.get(n % 2, f"e{n}") == seen[f"e{n}"]
    assert reopened.checkpoint(0) == 3


def test_a_small_cache_still_reads_every_state(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "db", cached=2)
    states = {f"e{n}": history(f"e{n}")[1] for n in range(6)}
    store.write(0, states, checkpoint=None)
    for _ in range(2):
        for eid, state in states.items():
            assert store.get(0, eid) == state
    assert store.get(0, "never-started") is None
    assert store.get(1, "e0") is None  # a state belongs to its partition


def test_a_forgotten_partition_reads_from_disk_what_was_written(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "db")
    first, second = history("e1")[:2]
    store.write(3, {"e1": first}, checkpoint=10)
    store.write(3, {"e1": second}, checkpoint=12)
    store.forget(3)
    assert store.get(3, "e1") == second
    assert [s.execution_id for s in store.states(3)] == ["e1"]
    assert store.checkpoint(3) == 12


def test_a_finished_execution_is_read_from_disk(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "db")
    last = history("e1")[-1]
    assert last.finished
    store.write(0, {"e1": last}, checkpoint=1)
    assert store.get(0, "e1") == last


def test_gate_states_are_stored_beside_execution_states_and_read_back(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "db")
    state = history("ex-1")[0]
    gate = GateState(gate_id="gate:three", limit=2)
    store.write(0, {"ex-1": state, "gate:three": gate}, 5)
    assert store.get(0, "ex-1") == state and store.get_gate(0, "gate:three") == gate
    assert store.get(0, "gate:three") is None  # a gate is not an execution
    reopened = (store.close(), StateStore(tmp_path / "db"))[1]
    assert reopened.get_gate(0, "gate:three") == gate and reopened.checkpoint(0) == 5
