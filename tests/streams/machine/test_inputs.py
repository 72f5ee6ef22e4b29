"""The state machine checks declared inputs on every start, however it arrived."""

from __future__ import annotations

from tests.streams.machine.driver import Run, action, types, workflow

INPUTS = {"customer": {"type": "string", "required": True},
          "priority": {"type": "string", "enum": ["low", "high"], "default": "low"}}


def test_a_start_with_a_valid_input_runs_with_its_defaults_filled_in() -> None:
    run = Run(workflow(action("a"), inputs=INPUTS))
    events = run.start({"customer": "ada"})
    started = next(e for e in events if e.type == "execution_started")
    assert started.input == {"customer": "ada", "priority": "low"}
    assert run.status == "running"


def test_a_start_with_a_bad_input_fails_at_once_naming_every_field() -> None:
    run = Run(workflow(action("a"), inputs=INPUTS))
    events = run.start({"priority": "urgent"})
    assert types(events) == ["execution_started", "execution_failed"]
    error = events[-1].error
    assert error.code == "invalid_input"
    assert "input.customer: customer is required" in error.message
    assert "input.priority: priority must be one of 'low', 'high'" in error.message


def test_a_limited_workflow_refuses_a_bad_input_without_taking_a_place_in_the_queue() -> None:
    run = Run(workflow(action("a"), inputs=INPUTS, concurrency_limit=1))
    events = run.start({})
    assert types(events) == ["execution_started", "execution_failed"]


def test_the_priority_of_a_start_stays_with_the_execution_and_reaches_the_gate() -> None:
    run = Run(workflow(action("a"), concurrency_limit=1))
    [queued] = run.start({}, priority="high")
    assert (queued.type, queued.priority) == ("execution_queued", "high")
    assert run.live.priority == "high"
