"""Retries, timeouts, error handling, operator commands, and commands that do not apply."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.commands import (
    CancelExecution,
    ChildCompleted,
    RetryExecution,
    StartExecution,
    TaskCompleted,
    TimeoutExecution,
    TimerFired,
)
from streams.machine import RECENT_COMMANDS
from tests.streams.machine.driver import Run, action, types, workflow

RETRY = {"max_attempts": 3, "initial_interval": "10s", "factor": 3, "max_interval": "20s"}


def test_failed_attempts_are_retried_with_exponential_backoff_and_a_cap() -> None:
    run = Run(workflow(action("a", retry=RETRY)))
    run.start()
    delays = []
    for attempt in (1, 2):
        events = run.fail("a")
        retry = next(e for e in events if e.type == "retry_scheduled")
        timer = next(e for e in events if e.type == "timer_scheduled")
        assert retry.attempt == attempt and retry.timer_id == timer.timer_id
        assert timer.fire_at == run.clock + timedelta(seconds=retry.delay)
        delays.append(retry.delay)
        run.fire("retry")
        assert run.step("a").attempt == attempt + 1
    assert delays == [10.0, 20.0], "10s, then 30s capped at 20s"
    run.fail("a")
    assert run.status == "failed" and run.step("a").attempt == 3


def test_retry_jitter_is_deterministic_and_stays_under_the_base() -> None:
    policy = {**RETRY, "jitter": 0.5, "backoff": "fixed"}
    delays = []
    for _ in range(2):
        run = Run(workflow(action("a", retry=policy)))
        run.start()
        delays.append(next(e.delay for e in run.fail("a") if e.type == "retry_scheduled"))
    assert delays[0] == delays[1]
    assert 5.0 <= delays[0] <= 10.0


def test_non_retryable_errors_are_not_retried() -> None:
    run = Run(workflow(action("a", retry=RETRY)))
    run.start()
    run.fail("a", retryable=False)
    assert run.status == "failed" and run.step("a").attempt == 1


def test_workflow_retry_policy_is_the_default_for_action_steps() -> None:
    run = Run(workflow(action("a"), retry={"max_attempts": 2}))
    run.start()
    assert "retry_scheduled" in types(run.fail("a"))


def test_step_timeout_cancels_the_task_and_counts_as_a_failed_attempt() -> None:
    run = Run(workflow(action("a", timeout="30s", retry={"max_attempts": 2})))
    run.start()
    first = run.task("a")
    events = run.fire("step_timeout")
    assert types(events)[:3] == ["timer_fired", "task_cancelled", "retry_scheduled"]
    run.fire("retry")
    assert run.task("a") != first
    late = run.send(TaskCompleted, task_id=first, output=1)
    assert types(late) == ["command_rejected"] and late[0].code == "unknown_task"
    run.fire("step_timeout")
    assert run.status == "failed" and run.live.error["code"] == "timeout"  # type: ignore[index]


def test_completing_before_the_timeout_cancels_the_timer() -> None:
    run = Run(workflow(action("a", timeout="30s")))
    run.start()
    events = run.complete("a")
    assert "timer_cancelled" in types(events)
    assert run.status == "completed" and not run.live.timers


def test_workflow_timeout_ends_the_execution_and_cancels_open_work() -> None:
    run = Run(workflow(action("a"), timeout="1h"))
    run.start()
    events = run.fire("workflow_timeout")
    assert types(events) == ["timer_fired", "task_cancelled", "step_cancelled",
                             "execution_timed_out"]
    assert run.status == "timed_out" and not run.live.tasks and not run.live.timers


def test_on_error_continue_moves_to_the_next_step() -> None:
    run = Run(workflow(action("a", on_error="continue"), action("b")))
    run.start()
    events = run.fail("a", retryable=False)
    failed = next(e for e in events if e.type == "step_failed")
    assert failed.handling == "continue"
    assert list(run.live.tasks.values()) == ["b"]


def test_on_error_goto_runs_the_catch_path_with_the_error() -> None:
    run = Run(workflow(action("a", on_error={"action": "goto", "goto": "catch"}),
                       action("b", next="$end"),
                       action("catch", **{"with": {"why": "${ error.code }"}})))
    run.start()
    run.fail("a", "bad_input", retryable=False)
    task = run.of_type("task_requested")[-1]
    assert task.step_id == "catch" and task.params == {"why": "bad_input"}
    run.complete("catch")
    assert run.status == "completed"


def test_workflow_on_error_is_the_default_for_steps() -> None:
    run = Run(workflow(action("a"), action("b"), on_error="continue"))
    run.start()
    run.fail("a", retryable=False)
    assert list(run.live.tasks.values()) == ["b"]


def test_failure_inside_a_loop_fails_the_loop_and_its_error_names_the_step() -> None:
    run = Run(workflow({"id": "l", "type": "loop", "for_each": "[1,2]", "steps": [action("b")]}))
    run.start()
    run.fail("l/0/b", "nope", retryable=False)
    assert run.status == "failed"
    assert run.live.error["details"]["step"] == "l/0/b"  # type: ignore[index]
    assert run.live.failed_step == "l"


def test_retry_execution_resumes_from_the_failed_step() -> None:
    run = Run(workflow(action("a"), action("b"), action("c")))
    run.start()
    run.complete("a", "A")
    run.fail("b", retryable=False)
    assert run.status == "failed"
    events = run.send(RetryExecution, requested_by="ops")
    assert types(events)[:2] == ["execution_resumed", "step_scheduled"]
    assert run.status == "running" and list(run.live.tasks.values()) == ["b"]
    run.complete("b")
    run.complete("c")
    assert run.status == "completed"
    assert run.step("a").output == "A", "earlier steps are not run again"


def test_retry_is_rejected_unless_the_execution_failed() -> None:
    run = Run(workflow(action("a")))
    run.start()
    events = run.send(RetryExecution)
    assert types(events) == ["command_rejected"] and events[0].code == "not_failed"


def test_cancel_stops_everything_once() -> None:
    run = Run(workflow(action("a", timeout="1m"), timeout="1h"))
    run.start()
    events = run.send(CancelExecution, reason="user")
    assert types(events)[-1] == "execution_cancelled"
    assert not run.live.tasks and not run.live.timers
    again = run.send(CancelExecution)
    assert types(again) == ["command_rejected"] and again[0].code == "execution_finished"


def test_timeout_command_times_the_execution_out() -> None:
    run = Run(workflow(action("a")))
    run.start()
    run.send(TimeoutExecution, reason="deadline")
    assert run.status == "timed_out"


def test_duplicate_command_ids_are_no_ops() -> None:
    run = Run(workflow(action("a"), action("b")))
    start = run.command(StartExecution, workflow_id="wf")
    assert run.apply(start)
    assert run.apply(start) == []
    done = run.command(TaskCompleted, task_id=run.task("a"), output=1)
    assert run.apply(done)
    assert run.apply(done) == []
    assert list(run.live.tasks.values()) == ["b"]


def test_the_dedup_window_is_bounded() -> None:
    run = Run(workflow({"id": "w", "type": "wait", "signal": "never"}), check=False)
    run.start()
    for i in range(RECENT_COMMANDS + 10):
        run.signal(f"s{i % 3}")
        if len(run.live.signals) >= 90:
            break
    assert len(run.live.recent) <= RECENT_COMMANDS


@pytest.mark.parametrize("command_type", ["timer", "task", "child", "start"])
def test_commands_that_do_not_apply_are_rejected(command_type: str) -> None:
    run = Run(workflow(action("a")))
    run.start()
    command = {
        "timer": lambda: run.command(TimerFired, timer_id="nope"),
        "task": lambda: run.command(TaskCompleted, task_id="nope"),
        "child": lambda: run.command(ChildCompleted, child_execution_id="nope"),
        "start": lambda: run.command(StartExecution, workflow_id="wf"),
    }[command_type]()
    before = run.live.copy()
    events = run.apply(command)
    assert types(events) == ["command_rejected"]
    assert run.live.scopes == before.scopes and run.live.tasks == before.tasks


def test_a_command_before_start_yields_nothing() -> None:
    run = Run(workflow(action("a")))
    assert run.send(CancelExecution) == []
    assert run.state is None


def test_a_command_for_another_definition_version_is_rejected() -> None:
    run = Run(workflow(action("a")))
    run.start()
    other = Run(workflow(action("a"), version="2.0.0"), check=False)
    other.state, other.count = run.state, 100
    events = other.send(CancelExecution)
    assert types(events) == ["command_rejected"] and events[0].code == "definition_mismatch"


def test_a_cycle_of_steps_that_never_wait_is_stopped() -> None:
    run = Run(workflow({"id": "c", "type": "condition",
                        "branches": [{"when": "true", "next": "c"}]}), check=False)
    run.start()
    assert run.status == "failed"
    assert run.live.error["code"] == "step_budget_exceeded"  # type: ignore[index]
