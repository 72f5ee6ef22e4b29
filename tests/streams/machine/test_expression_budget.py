"""An expression over its cost budget fails its step with `expression_too_costly`, so the
step's error handling applies; the issue's input held the processor for 30 s instead."""

from __future__ import annotations

from tests.streams.machine.driver import Run, action, workflow

COSTLY = "${ input.items.map(x, input.items.map(y, y)) }"


def test_a_costly_input_mapping_fails_its_step_with_the_named_error() -> None:
    run = Run(workflow(action("a", input={"pairs": COSTLY})))
    run.start({"items": list(range(300))})
    failed = next(e for e in run.events if e.type == "step_failed")
    assert failed.step_id == "a" and failed.error.code == "expression_too_costly"
    assert "budget" in failed.error.message
    assert run.status == "failed"


def test_the_same_expression_on_a_small_input_runs() -> None:
    run = Run(workflow(action("a", input={"pairs": COSTLY})))
    run.start({"items": [1, 2]})
    requested = next(e for e in run.events if e.type == "task_requested")
    assert requested.input == {"pairs": [[1, 2], [1, 2]]}


def test_a_catch_path_sees_the_named_error() -> None:
    run = Run(workflow(action("a", input={"pairs": COSTLY}, on_error="continue"),
                       action("b")))
    run.start({"items": list(range(400))})
    assert run.step("a").error["code"] == "expression_too_costly"
    assert run.live.tasks  # b runs: the error path applied
