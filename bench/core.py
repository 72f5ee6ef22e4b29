"""Benchmark of the pure workflow state machine (no Kafka): commands/s and state size.

Run: ``.venv/bin/python bench/core.py [--quick] [--waiting N]``

Figures:
- commands applied per second (``apply_command``: decide + evolve) for a 3-step
  sequential workflow, a 10-branch parallel one and a 100-iteration loop;
- the same including the state store round trip a worker does per command
  (``State.from_bytes`` before, ``to_bytes`` after);
- bytes per waiting execution: serialised (what RocksDB keeps) and in memory
  (tracemalloc over N live states), extrapolated to 100,000 executions;
- a reference measured in the same run, so the figures mean something on another
  machine: an orjson dumps+loads round trip of the same state dict, per second.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from schemas.commands import CommandBase, StartExecution, TaskCompleted
from schemas.definitions import WorkflowDefinition
from streams.machine import Plan, State, apply_command, compile_plan

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _action(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "type": "action", "action": "http",
            "with": {"url": "${ input.base + '/" + step_id + "' }"},
            "output": {step_id: "${ output }"}}


WORKFLOWS: dict[str, dict[str, Any]] = {
    "sequential-3": {"id": "sequential-3", "name": "seq", "steps": [_action(s) for s in "abc"],
                     "outputs": {"c": "${ vars.c }"}},
    "parallel-10": {"id": "parallel-10", "name": "par", "steps": [{
        "id": "fan", "type": "parallel",
        "branches": [{"name": f"b{i}", "steps": [_action(f"s{i}")]} for i in range(10)]}]},
    "loop-100": {"id": "loop-100", "name": "loop", "steps": [{
        "id": "each", "type": "loop", "for_each": "input.items",
        "steps": [{"id": "s", "type": "action", "action": "work", "with": {"i": "${ item }"}}]}]},
    "waiting": {"id": "wait", "name": "wait", "steps": [
        _action("a"), {"id": "approve", "type": "wait", "signal": "approve", "timeout": "7d"},
        _action("b")]},
}
INPUTS: dict[str, dict[str, Any]] = {
    "sequential-3": {"base": "https://api.example.com", "customer": "c-42"},
    "parallel-10": {"base": "https://api.example.com", "customer": "c-42"},
    "loop-100": {"items": list(range(100))},
}


class Ids:
    """Command ids and times for one benchmark run."""

    def __init__(self) -> None:
        self.n = 0

    def make(self, cls: type[CommandBase], execution_id: str, **fields: Any) -> CommandBase:
        self.n += 1
        return cls(command_id=f"c{self.n}", execution_id=execution_id,
                   time=T0 + timedelta(milliseconds=self.n), **fields)


def run_to_end(plan: Plan, execution_id: str, ids: Ids, *, store: bool) -> int:
    """Drive one execution to completion, answering every task; returns commands applied."""
    state: State | None = None
    command = ids.make(StartExecution, execution_id, workflow_id=plan.workflow_id,
                        input=INPUTS.get(plan.workflow_id, {}))
    count = 0
    while True:
        if store and state is not None:
            state = State.from_bytes(state.to_bytes())
        _, state = apply_command(state, command, plan)
        count += 1
        assert state is not None
        if state.finished:
            return count
        task_id = next(iter(state.tasks))
        command = ids.make(TaskCompleted, execution_id, task_id=task_id, output={"ok": True})


def commands_per_second(name: str, budget: float, *, store: bool) -> tuple[float, int]:
    """Commands/s over whole executions of one workflow for about ``budget`` seconds."""
    plan = compile_plan(WorkflowDefinition.model_validate(WORKFLOWS[name]))
    ids = Ids()
    run_to_end(plan, "warmup", ids, store=store)
    commands = executions = 0
    start = time.perf_counter()
    while time.perf_counter() - start < budget:
        commands += run_to_end(plan, f"e{executions}", ids, store=store)
        executions += 1
    return commands / (time.perf_counter() - start), executions


def waiting_state() -> State:
    """An execution past its first step, waiting for a signal with a timeout open."""
    plan = compile_plan(WorkflowDefinition.model_validate(WORKFLOWS["waiting"]))
    ids = Ids()
    eid = "01J9Z3Y5Q8R2V7W4X6K1M0N3P5"  # a ULID-sized execution id
    _, state = apply_command(None, ids.make(StartExecution, eid, workflow_id="wait",
                                            input={"base": "https://api.example.com",
                                                   "order": "o-12345"}), plan)
    assert state is not None
    _, state = apply_command(state, ids.make(TaskCompleted, eid, task_id=next(iter(state.tasks)),
                                             output={"status": 200}), plan)
    assert state is not None and state.status == "waiting"
    return state


def memory_per_state(blob: bytes, count: int) -> float:
    """Bytes of Python heap per live `State` decoded from ``blob`` (tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    states = [State.from_bytes(blob) for _ in range(count)]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del states
    return (after - before) / count


def rate(fn: Callable[[], object], budget: float) -> float:
    """Calls per second of ``fn`` for about ``budget`` seconds."""
    calls = 0
    start = time.perf_counter()
    while time.perf_counter() - start < budget:
        fn()
        calls += 1
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="0.5 s per figure instead of 3 s")
    parser.add_argument("--waiting", type=int, default=20_000,
                        help="live states to measure memory over (default 20000)")
    args = parser.parse_args()
    budget = 0.5 if args.quick else 3.0

    state = waiting_state()
    blob = state.to_bytes()
    as_dict = orjson.loads(blob)
    reference = rate(lambda: orjson.loads(orjson.dumps(as_dict)), budget)
    print("reference: orjson dumps+loads of a waiting execution's state "
          f"({len(blob)} B): {reference:,.0f}/s")
    print()
    print(f"{'workflow':<14} {'commands/s':>12} {'x ref':>7} {'with store':>12} {'x ref':>7}"
          f" {'executions/s':>13}")
    for name in ("sequential-3", "parallel-10", "loop-100"):
        plain, _ = commands_per_second(name, budget, store=False)
        stored, _ = commands_per_second(name, budget, store=True)
        per_execution = plain / max(1, run_to_end(
            compile_plan(WorkflowDefinition.model_validate(WORKFLOWS[name])), "x", Ids(),
            store=False))
        print(f"{name:<14} {plain:>12,.0f} {plain / reference:>7.3f} {stored:>12,.0f}"
              f" {stored / reference:>7.3f} {per_execution:>13,.1f}")
    print()
    in_memory = memory_per_state(blob, args.waiting)
    print(f"waiting execution: {len(blob)} B serialised, {in_memory:,.0f} B in memory "
          f"(tracemalloc over {args.waiting:,} states)")
    print(f"100,000 waiting executions: {len(blob) * 100_000 / 2**20:,.1f} MiB serialised, "
          f"{in_memory * 100_000 / 2**20:,.1f} MiB in memory (goal: well under 1024 MiB)")


if __name__ == "__main__":
    main()
