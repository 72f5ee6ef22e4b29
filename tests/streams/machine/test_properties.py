"""Laws over generated workflows and generated command sequences (hypothesis).

For any workflow and any order of commands (answers, failures, timers, signals,
cancels, retries, duplicates, bogus ids): `decide` never raises, replay rebuilds
the live state, an execution ends exactly once per run, a step instance ends at
most once, attempts stay within the retry policy, and a finished execution leaves
no task, timer or child behind.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from schemas.commands import (
    CancelExecution,
    ChildCompleted,
    ChildFailed,
    ErrorInfo,
    EventReceived,
    RetryExecution,
    TaskCompleted,
    TaskFailed,
    TimeoutExecution,
    TimerFired,
)
from schemas.definitions import WorkflowDefinition
from streams.machine import join_path
from tests.streams.machine.driver import Run

EXAMPLES = 400 if os.environ.get("HEADWATER_FULL") else 60
STEP_ENDS = {"step_completed", "step_failed", "step_skipped", "step_cancelled"}
TERMINAL = {"execution_completed", "execution_failed", "execution_cancelled",
            "execution_timed_out"}


@st.composite
def retry_policies(draw: st.DrawFn) -> dict[str, Any] | None:
    if draw(st.integers(0, 3)) == 0:
        return None
    return {"max_attempts": draw(st.integers(1, 3)), "initial_interval": draw(st.integers(1, 5)),
            "jitter": draw(st.sampled_from([0, 0.5]))}


@st.composite
def leaf_steps(draw: st.DrawFn, step_id: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["action", "action", "wait_signal", "wait_duration",
                                 "wait_event", "subprocess"]))
    step: dict[str, Any] = {"id": step_id}
    if kind == "action":
        step |= {"type": "action", "action": "work", "retry": draw(retry_policies())}
    elif kind == "wait_signal":
        step |= {"type": "wait", "signal": draw(st.sampled_from(["go", "stop"]))}
    elif kind == "wait_duration":
        step |= {"type": "wait", "duration": draw(st.integers(1, 100))}
    elif kind == "wait_event":
        step |= {"type": "wait", "event": {"type": "thing.*", "correlation": "input.key"}}
    else:
        step |= {"type": "subprocess", "workflow_id": "child", "retry": draw(retry_policies())}
    if draw(st.booleans()):
        step["timeout"] = draw(st.integers(1, 50))
    if draw(st.integers(0, 3)) == 0:
        step["on_error"] = "continue"
    return step


@st.composite
def step_lists(draw: st.DrawFn, prefix: str, depth: int) -> list[dict[str, Any]]:
    count = draw(st.integers(1, 3))
    ids = [f"{prefix}{i}" for i in range(count)]
    steps = []
    for i, step_id in enumerate(ids):
        kind = draw(st.sampled_from(["leaf", "leaf", "condition", "loop", "parallel"]
                                    if depth < 2 else ["leaf", "leaf", "condition"]))
        if kind == "leaf":
            steps.append(draw(leaf_steps(step_id)))
        elif kind == "condition":
            later = [*ids[i + 1:], "$end"]
            steps.append({"id": step_id, "type": "condition",
                          "branches": [{"when": "input.flag", "next": draw(st.sampled_from(later))}],
                          "default": draw(st.sampled_from(later))})
        elif kind == "loop":
            steps.append({"id": step_id, "type": "loop", "for_each": "input.items",
                          "parallelism": draw(st.integers(1, 2)),
                          "steps": draw(step_lists(f"{step_id}_", depth + 1))})
        else:
            branches = [{"name": f"b{b}", "steps": draw(step_lists(f"{step_id}_{b}_", depth + 1))}
                        for b in range(draw(st.integers(1, 2)))]
            steps.append({"id": step_id, "type": "parallel", "branches": branches,
                          "join": draw(st.sampled_from(["all", "any"])),
                          "fail_fast": draw(st.booleans())})
    return steps


@st.composite
def workflows(draw: st.DrawFn) -> WorkflowDefinition:
    steps = draw(step_lists("s", 0))
    mode = draw(st.sampled_from(["sequential", "parallel", "hybrid"]))
    if mode != "sequential":
        for step in steps:
            step.pop("next", None)
            if step["type"] == "condition":  # DAG targets must not point backwards
                continue
        if mode == "hybrid":
            for i, step in enumerate(steps[1:], start=1):
                step["depends_on"] = draw(st.lists(st.sampled_from([s["id"] for s in steps[:i]]),
                                                   max_size=2, unique=True))
    fields: dict[str, Any] = {"execution_mode": mode}
    if draw(st.booleans()):
        fields["timeout"] = draw(st.integers(100, 1000))
    if draw(st.booleans()):
        fields["retry"] = {"max_attempts": 2, "initial_interval": 1}
    return WorkflowDefinition.model_validate(
        {"id": "gen", "name": "generated", "steps": steps, **fields})


def _random_command(run: Run, data: st.DataObject) -> Any:
    state = run.live
    choice = data.draw(st.sampled_from(
        ["complete", "complete", "fail", "fail", "fire", "fire", "signal", "event",
         "child_ok", "child_fail", "cancel", "timeout", "retry", "bogus"]))
    tasks, timers, children = sorted(state.tasks), sorted(state.timers), sorted(state.children)
    if choice in ("complete", "fail") and tasks:
        task_id = data.draw(st.sampled_from(tasks))
        if choice == "complete":
            return run.command(TaskCompleted, task_id=task_id, output=data.draw(st.integers(0, 3)))
        error = ErrorInfo(code="e", retryable=data.draw(st.booleans()))
        return run.command(TaskFailed, task_id=task_id, error=error)
    if choice == "fire" and timers:
        return run.command(TimerFired, timer_id=data.draw(st.sampled_from(timers)))
    if choice in ("child_ok", "child_fail") and children:
        child = data.draw(st.sampled_from(children))
        if choice == "child_ok":
            return run.command(ChildCompleted, child_execution_id=child, output={"c": 1})
        return run.command(ChildFailed, child_execution_id=child, error=ErrorInfo(code="c"))
    if choice == "signal":
        from schemas.commands import SignalReceived

        return run.command(SignalReceived, name=data.draw(st.sampled_from(["go", "stop", "x"])))
    if choice == "event":
        subject = data.draw(st.sampled_from(["k", "other"]))
        return run.command(EventReceived, event={"type": "thing.done", "subject": subject})
    if choice == "cancel" and data.draw(st.integers(0, 5)) == 0:
        return run.command(CancelExecution)
    if choice == "timeout" and data.draw(st.integers(0, 5)) == 0:
        return run.command(TimeoutExecution)
    if choice == "retry":
        return run.command(RetryExecution)
    if choice == "bogus":
        return run.command(TaskCompleted, task_id="no-such-task")
    if run.history and data.draw(st.booleans()):
        return run.history[-1][0]  # a redelivered command
    return None


def _drain_command(run: Run) -> Any:
    """Something that moves a stuck execution along, preferring success."""
    state = run.live
    if state.tasks:
        task_id = min(state.tasks)
        step = state.step(state.tasks[task_id])
        if step is not None and step.attempt == 1:  # fail first attempts: exercise retries
            return run.command(TaskFailed, task_id=task_id, error=ErrorInfo(code="flaky"))
        return run.command(TaskCompleted, task_id=task_id, output=1)
    if state.children:
        return run.command(ChildCompleted, child_execution_id=min(state.children))
    waiting = [s.wait for sc in state.scopes.values() for s in sc.steps.values()
               if s.status == "running" and s.wait]
    for wait in waiting:
        if "signal" in wait:
            from schemas.commands import SignalReceived

            return run.command(SignalReceived, name=wait["signal"])
        return run.command(EventReceived, event={"type": "thing.done", "subject": "k"})
    if state.timers:
        return run.command(TimerFired, timer_id=min(state.timers, key=lambda t: state.timers[t].fire_at))
    return run.command(CancelExecution)


def _check_laws(run: Run) -> None:
    events = run.events
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert not [e for e in events if e.type == "command_rejected" and e.code == "internal_error"]
    # An execution ends exactly once per run (a retry starts a new run).
    ended = 0
    for event in events:
        if event.type in TERMINAL:
            ended += 1
            assert ended == 1, "ended twice"
        elif event.type == "execution_resumed":
            assert ended == 1
            ended = 0
        elif ended:
            assert event.type == "command_rejected", f"{event.type} after the end"
    # A step instance ends at most once per activation.
    open_steps: Counter[str] = Counter()
    for event in events:
        if event.type == "step_scheduled":
            open_steps[join_path(event.scope, event.step_id)] = 1
        elif event.type in STEP_ENDS and event.type != "step_skipped":
            path = join_path(event.scope, event.step_id)
            assert open_steps[path] == 1, f"{path} ended twice"
            open_steps[path] = 0
    # Attempts count 1, 2, ... within one activation and never exceed the policy.
    attempts: Counter[str] = Counter()
    for event in events:
        path = join_path(event.scope, event.step_id) if hasattr(event, "step_id") else ""
        if event.type == "step_scheduled":
            attempts[path] = 0
        elif event.type == "step_started":
            attempts[path] += 1
            policy = _policy(run, event.scope, event.step_id)
            assert event.attempt == attempts[path] <= (policy.max_attempts if policy else 1)
    # A finished execution leaves nothing open; every task was answered or cancelled.
    if run.live.finished:
        assert not run.live.tasks and not run.live.timers and not run.live.children
        requested = {e.task_id for e in events if e.type == "task_requested"}
        closed = {e.task_id for e in events if e.type == "task_cancelled"}
        closed |= {c.task_id for c, evs in run.history
                   if isinstance(c, TaskCompleted | TaskFailed) and evs
                   and evs[0].type != "command_rejected"}
        assert requested <= closed


def _policy(run: Run, scope: str, step_id: str) -> Any:
    """The retry policy of a step, mapping its scope instance to the static plan scope."""
    plan_id = ""
    parts = scope.split("/") if scope else []
    for container, index in zip(parts[::2], parts[1::2], strict=True):
        container_plan = run.plan.scopes[plan_id].steps[container]
        plan_id = join_path(plan_id, container)
        if container_plan.type == "parallel":
            plan_id = join_path(plan_id, index)
    return run.plan.scopes[plan_id].steps[step_id].retry


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(definition=workflows(), data=st.data())
def test_any_command_sequence_keeps_the_laws(definition: WorkflowDefinition,
                                             data: st.DataObject) -> None:
    run = Run(definition)
    run.start({"flag": data.draw(st.booleans()), "items": [1, 2][: data.draw(st.integers(0, 2))],
               "key": "k"})
    for _ in range(data.draw(st.integers(0, 30))):
        if run.live.finished and data.draw(st.integers(0, 3)) > 0:
            break
        command = _random_command(run, data)
        if command is not None:
            events = run.apply(command)
            assert run.apply(command) == [], "a redelivered command is a no-op"
            assert all(e.command_id == command.command_id for e in events)
    for _ in range(300):
        if run.live.finished:
            break
        run.apply(_drain_command(run))
    assert run.live.finished, "draining always ends an execution"
    _check_laws(run)
    for kind in {e.type for e in run.events}:
        note_event(kind)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(definition=workflows(), data=st.data())
def test_any_command_sequence_keeps_the_laws_thoroughly(definition: WorkflowDefinition,
                                                        data: st.DataObject) -> None:
    test_any_command_sequence_keeps_the_laws.hypothesis.inner_test(definition, data)  # type: ignore[attr-defined]
