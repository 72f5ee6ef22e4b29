"""States share scopes between copies; changing one copy in place never shows in another."""

from __future__ import annotations

from schemas.commands import TaskCompleted
from streams.machine import State, apply_command
from streams.machine.evolve import apply
from tests.streams.machine.driver import Run, action, workflow


def _started() -> tuple[Run, TaskCompleted]:
    run = Run(workflow({"id": "each", "type": "loop", "for_each": "input.items",
                        "steps": [action("s")]}, action("after")))
    run.start({"items": [1, 2, 3]})
    command = run.command(TaskCompleted, task_id=run.task(), output={"n": 1})
    assert isinstance(command, TaskCompleted)
    return run, command


def test_changing_the_original_in_place_leaves_a_copy_alone() -> None:
    run, command = _started()
    original = run.live
    copy = original.copy()
    before = copy.to_bytes()
    events, _ = apply_command(original, command, run.plan)
    for event in events:
        apply(original, event)
    assert original.to_bytes() != before
    assert copy.to_bytes() == before


def test_changing_a_copy_in_place_leaves_the_original_alone() -> None:
    run, command = _started()
    original = run.live
    before = original.to_bytes()
    copy = original.copy()
    events, _ = apply_command(original, command, run.plan)
    for event in events:
        apply(copy, event)
    assert original.to_bytes() == before
    assert State.from_bytes(copy.to_bytes()) == copy
