"""Starting and answering leaf steps: action, condition, subprocess and wait.

Loops and parallel steps are in `streams.machine.containers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

import orjson

from schemas.commands import ErrorInfo
from schemas.definitions import ActionStep, SubprocessStep, WaitStep
from schemas.executions import (
    ChildCancelled,
    ChildStarted,
    SignalConsumed,
    StepStarted,
    TaskCancelled,
    TaskRequested,
)
from schemas.expressions import ExpressionError
from streams.machine import flow
from streams.machine.plan import StepPlan, parse_iso
from streams.machine.state import split_path
from streams.machine.tx import Tx

__all__ = [
    "begin_action",
    "begin_condition",
    "begin_subprocess",
    "begin_wait",
    "find_event_waiter",
    "find_signal_waiter",
    "log_kept",
    "log_rank",
    "restart_action",
    "restart_subprocess",
    "step_timed_out",
]


def restart_action(tx: Tx, scope: str, step_id: str) -> None:
    """A retry timer fired: start the next attempt of an action step."""
    step = tx.step_state(scope, step_id)
    assert step is not None
    begin_action(tx, scope, step_id, tx.step_plan(scope, step_id), step.attempt + 1)


def restart_subprocess(tx: Tx, scope: str, step_id: str) -> None:
    """A retry timer fired: start the next attempt of a subprocess step."""
    step = tx.step_state(scope, step_id)
    assert step is not None
    begin_subprocess(tx, scope, step_id, tx.step_plan(scope, step_id), step.attempt + 1)


def _start_timeout(tx: Tx, scope: str, step_id: str, plan: StepPlan) -> None:
    if plan.timeout is not None:
        flow.schedule_timer(tx, scope, step_id, plan.timeout, "step_timeout")


def _render_input(tx: Tx, plan: StepPlan, context: Mapping[str, Any]) -> Any:
    return plan.input(context) if plan.input is not None else None


def begin_action(
    tx: Tx, scope: str, step_id: str, plan: StepPlan, attempt: int = 1
) -> None:
    step = plan.step
    assert isinstance(step, ActionStep)
    context = tx.context(scope)
    try:
        rendered = _render_input(tx, plan, context)
        params = plan.params(context) if plan.params is not None else None
    except ExpressionError as exc:
        tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=attempt)
        flow.fail_step(tx, scope, step_id, flow.expression_error(exc, "input mapping"))
        return
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=attempt, input=rendered)
    level = tx.plan.definition.monitoring.log_level
    if step.action == "log" and isinstance(params, dict) and not log_kept(params, level):
        # Below the workflow's `monitoring.log_level`: no worker round trip, no log line; the
        # step completes with the output the `log` action would have given.
        flow.finish_step(tx, scope, step_id, {"message": str(params.get("message", ""))})
        return
    tx.emit(TaskRequested, scope=scope, step_id=step_id, task_id=tx.new_id("t"),
            attempt=attempt, task_type=step.action, params=params,
            input=rendered if rendered is not None else {}, timeout=plan.timeout)
    _start_timeout(tx, scope, step_id, plan)


LOG_LEVELS: dict[str, int] = {"debug": 10, "info": 20, "warn": 30, "warning": 30, "error": 40,
                              "critical": 50}
"""A `log` step's `with.level` -> its rank; anything else counts as info, as the action does."""


def log_rank(level: object) -> int:
    """The rank of a `log` step's level (unknown levels are info)."""
    return LOG_LEVELS.get(str(level).lower(), LOG_LEVELS["info"])


def log_kept(params: Mapping[str, Any], workflow_level: str) -> bool:
    """Whether a `log` step with rendered ``params`` is at or above the workflow's level.

    (Params that are not a mapping go to the worker: the action fails the step saying why.)
    """
    return log_rank(params.get("level", "info")) >= LOG_LEVELS[workflow_level]


def begin_condition(tx: Tx, scope: str, step_id: str, plan: StepPlan) -> None:
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1)
    context = tx.context(scope)
    chosen: int | None = None
    for i, when in enumerate(plan.exprs):
        try:
            value = when(context)
        except ExpressionError as exc:
            flow.fail_step(tx, scope, step_id, flow.expression_error(exc, f"branch {i}"))
            return
        if not isinstance(value, bool):
            error = flow.error_info("not_boolean", f"branch {i} gave {type(value).__name__}")
            flow.fail_step(tx, scope, step_id, error)
            return
        if value:
            chosen = i
            break
    default: str | None = getattr(plan.step, "default", None)
    target = plan.targets[chosen] if chosen is not None else default
    others = tuple(t for t in (*plan.targets, default) if t is not None and t != target)
    output = {"branch": chosen, "next": target if target is not None else plan.next}
    flow.finish_step(tx, scope, step_id, output, target=target, skip=others)


def begin_subprocess(
    tx: Tx, scope: str, step_id: str, plan: StepPlan, attempt: int = 1
) -> None:
    step = plan.step
    assert isinstance(step, SubprocessStep)
    try:
        rendered = _render_input(tx, plan, tx.context(scope))
    except ExpressionError as exc:
        tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=attempt)
        flow.fail_step(tx, scope, step_id, flow.expression_error(exc, "input mapping"))
        return
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=attempt, input=rendered)
    if rendered is not None and not isinstance(rendered, dict):
        error = flow.error_info("invalid_input", "a child's input must be an object")
        flow.fail_step(tx, scope, step_id, error)
        return
    child = tx.new_id("c")
    tx.emit(ChildStarted, scope=scope, step_id=step_id, child_execution_id=child,
            workflow_id=step.workflow_id, version=step.version, input=rendered or {},
            wait=step.wait)
    if not step.wait:
        flow.finish_step(tx, scope, step_id, {"execution_id": child})
        return
    _start_timeout(tx, scope, step_id, plan)


def begin_wait(tx: Tx, scope: str, step_id: str, plan: StepPlan) -> None:
    step = plan.step
    assert isinstance(step, WaitStep)
    if step.signal is not None:
        _begin_signal_wait(tx, scope, step_id, plan, step.signal)
    elif step.event is not None:
        _begin_event_wait(tx, scope, step_id, plan, step.event.type)
    else:
        _begin_timer_wait(tx, scope, step_id, plan)


def _begin_timer_wait(tx: Tx, scope: str, step_id: str, plan: StepPlan) -> None:
    step = plan.step
    assert isinstance(step, WaitStep)
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1)
    if step.duration is not None:
        seconds = step.duration
    else:
        try:
            until = _until(tx, scope, step, plan)
        except ExpressionError as exc:
            flow.fail_step(tx, scope, step_id, flow.expression_error(exc, "until"))
            return
        if until is None:
            error = flow.error_info("invalid_until", "`until` is not an ISO 8601 time with a zone")
            flow.fail_step(tx, scope, step_id, error)
            return
        seconds = (until - tx.now).total_seconds()
    if seconds <= 0:
        flow.finish_step(tx, scope, step_id, None)
        return
    flow.schedule_timer(tx, scope, step_id, seconds, "wait")
    _start_timeout(tx, scope, step_id, plan)


def _until(tx: Tx, scope: str, step: WaitStep, plan: StepPlan) -> datetime | None:
    assert step.until is not None
    literal = parse_iso(step.until)
    if literal is not None:
        return literal
    value = plan.exprs[0](tx.context(scope))
    return parse_iso(value) if isinstance(value, str) else None


def _begin_signal_wait(tx: Tx, scope: str, step_id: str, plan: StepPlan, name: str) -> None:
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1, waiting_for={"signal": name})
    for buffered, payload in tx.state.signals:
        if buffered == name:
            tx.emit(SignalConsumed, scope=scope, step_id=step_id, name=name)
            flow.finish_step(tx, scope, step_id, payload, extra={"signal": payload})
            return
    _start_timeout(tx, scope, step_id, plan)


def _begin_event_wait(tx: Tx, scope: str, step_id: str, plan: StepPlan, pattern: str) -> None:
    try:
        value = plan.exprs[0](tx.context(scope))
    except ExpressionError as exc:
        tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1)
        flow.fail_step(tx, scope, step_id, flow.expression_error(exc, "correlation"))
        return
    subject = value if isinstance(value, str) or value is None else orjson.dumps(value).decode()
    waiting = {"event_type": pattern, "subject": subject}
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1, waiting_for=waiting)
    _start_timeout(tx, scope, step_id, plan)


def find_signal_waiter(tx: Tx, name: str) -> tuple[str, str] | None:
    """The first running wait step (in the order they were reached) waiting for ``name``."""
    wanted = {"signal": name}
    for key, owner in tx.state.scopes.items():
        for step_id, step in owner.steps.items():
            if step.status == "running" and step.wait == wanted:
                return key, step_id
    return None


def find_event_waiter(tx: Tx, event: dict[str, Any]) -> tuple[str, str] | None:
    """The first running wait step whose event type pattern and subject match ``event``."""
    event_type = str(event.get("type", ""))
    subject = event.get("subject")
    for key, owner in tx.state.scopes.items():
        for step_id, step in owner.steps.items():
            wait = step.wait
            if step.status != "running" or wait is None or "event_type" not in wait:
                continue
            if fnmatchcase(event_type, wait["event_type"]) and (
                wait["subject"] is None or wait["subject"] == subject
            ):
                return key, step_id
    return None


def step_timed_out(tx: Tx, path: str) -> None:
    """A step's timeout fired: stop what it runs and fail the attempt (or the step)."""
    scope, step_id = split_path(path)
    plan = tx.step_plan(scope, step_id)
    step = tx.step_state(scope, step_id)
    assert step is not None
    error = ErrorInfo(code="timeout", message=f"step timed out after {plan.timeout}s")
    if step.task is not None and step.task in tx.state.tasks:
        tx.emit(TaskCancelled, scope=scope, step_id=step_id, task_id=step.task, reason="timeout")
    elif step.task is not None and step.task in tx.state.children:
        tx.emit(ChildCancelled, scope=scope, step_id=step_id, child_execution_id=step.task)
    if plan.type in ("action", "subprocess"):
        flow.fail_attempt(tx, scope, step_id, error)
        return
    for index in list(step.active):
        flow.cancel_child_scope(tx, scope, step_id, index, "timeout")
    flow.fail_step(tx, scope, step_id, error.model_copy(update={"retryable": False}))
