"""How control moves: steps end, scopes advance or end, failures propagate, things get cancelled.

A sequential scope follows ``next`` links; a DAG scope (the top level in
``parallel``/``hybrid`` mode) starts each step once its ``depends_on`` are done.
A scope that ends hands its outcome to its container (loop or parallel step),
and the top-level scope ending ends the execution.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schemas.commands import ErrorInfo
from schemas.executions import (
    BranchEnded,
    ChildCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    LoopIterationEnded,
    RetryScheduled,
    StepCancelled,
    StepCompleted,
    StepFailed,
    StepScheduled,
    StepSkipped,
    TaskCancelled,
    TimerCancelled,
    TimerScheduled,
    VariablesUpdated,
)
from schemas.expressions import ExpressionError
from streams.machine.backoff import retry_delay
from streams.machine.plan import END
from streams.machine.state import ACTIVE_STEP, join_path, split_path
from streams.machine.tx import BudgetExceeded, Tx

__all__ = [
    "after_step",
    "cancel_everything",
    "cancel_step",
    "complete_execution",
    "end_scope",
    "error_info",
    "fail_attempt",
    "fail_execution",
    "fail_step",
    "finish_step",
    "run_queue",
    "schedule",
    "start_scope",
]


def error_info(code: str, message: str, **details: Any) -> ErrorInfo:
    """An `ErrorInfo` raised by the engine itself (never retryable)."""
    return ErrorInfo(code=code, message=message, retryable=False, details=details)


# Failures a user must be able to tell apart from a wrong expression: named as the step's code.
_NAMED_EXPRESSION_ERRORS = frozenset({"expression_too_costly", "input_too_large"})


def expression_error(exc: ExpressionError, what: str) -> ErrorInfo:
    """The error a step fails with when one of its expressions fails: `expression_error`
    with the reason, or the reason itself when it is a budget (`expression_too_costly`)."""
    code = exc.code if exc.code in _NAMED_EXPRESSION_ERRORS else "expression_error"
    return error_info(code, f"{what}: {exc.message}", reason=exc.code)


def schedule(tx: Tx, scope: str, step_id: str) -> None:
    """Reach a step: record it and queue its start (started by `run_queue`)."""
    if tx.budget <= 0:
        raise BudgetExceeded(step_id)
    tx.budget -= 1
    plan = tx.scope_plan(scope)
    if step_id not in plan.steps:
        fail_scope(tx, scope, error_info("unknown_step", f"no step {step_id!r} here"), None)
        return
    tx.emit(StepScheduled, scope=scope, step_id=step_id, step_type=plan.steps[step_id].type)
    tx.queue.append((scope, step_id))


def run_queue(tx: Tx) -> None:
    """Start queued steps until none is left; a step may queue more."""
    while tx.queue:
        scope, step_id = tx.queue.popleft()
        if not tx.live:
            tx.queue.clear()
            return
        step = tx.step_state(scope, step_id)
        if step is not None and step.status == "scheduled":
            plan = tx.step_plan(scope, step_id)
            tx.kinds[plan.type].begin(tx, scope, step_id, plan)


def start_scope(tx: Tx, scope: str) -> None:
    """Start the steps of a fresh scope instance."""
    plan = tx.scope_plan(scope)
    if plan.dag:
        advance_dag(tx, scope)
    elif plan.first is None:
        end_scope(tx, scope, "completed")
    else:
        schedule(tx, scope, plan.first)


def schedule_timer(
    tx: Tx, scope: str, step_id: str | None, seconds: float, purpose: str
) -> None:
    """Open a durable timer ``seconds`` after the command time."""
    timer_id = tx.new_id("w")
    tx.emit(TimerScheduled, timer_id=timer_id, fire_at=tx.now + timedelta(seconds=seconds),
            purpose=purpose, scope=scope, step_id=step_id)


def cancel_timers(tx: Tx, scope: str, step_id: str) -> None:
    """Cancel every open timer owned by a step."""
    path = join_path(scope, step_id)
    for timer_id, timer in list(tx.state.timers.items()):
        if timer.step == path:
            tx.emit(TimerCancelled, timer_id=timer_id)


def finish_step(
    tx: Tx, scope: str, step_id: str, raw: Any, *, target: str | None = None,
    skip: tuple[str, ...] = (), extra: dict[str, Any] | None = None,
) -> None:
    """Complete a step with its raw result, render its output mapping, and move on."""
    plan = tx.step_plan(scope, step_id)
    output = raw
    if plan.output is not None:
        try:
            output = plan.output(tx.context(scope, output=raw, **(extra or {})))
        except ExpressionError as exc:
            fail_step(tx, scope, step_id, expression_error(exc, "output mapping"))
            return
    cancel_timers(tx, scope, step_id)
    tx.emit(StepCompleted, scope=scope, step_id=step_id, output=output)
    if plan.output is not None and isinstance(output, dict) and output:
        tx.emit(VariablesUpdated, values=output, scope=scope, step_id=step_id)
    after_step(tx, scope, step_id, target, skip)


def fail_attempt(tx: Tx, scope: str, step_id: str, error: ErrorInfo) -> None:
    """An attempt failed: schedule a retry if the policy allows, else fail the step."""
    plan = tx.step_plan(scope, step_id)
    step = tx.step_state(scope, step_id)
    assert step is not None
    cancel_timers(tx, scope, step_id)
    policy = plan.retry
    if policy is None or not error.retryable or step.attempt >= policy.max_attempts:
        fail_step(tx, scope, step_id, error)
        return
    path = join_path(scope, step_id)
    delay = retry_delay(policy, step.attempt, tx.state.execution_id, path)
    timer_id = tx.new_id("r")
    tx.emit(RetryScheduled, scope=scope, step_id=step_id, attempt=step.attempt, delay=delay,
            timer_id=timer_id, error=error)
    tx.emit(TimerScheduled, timer_id=timer_id, fire_at=tx.now + timedelta(seconds=delay),
            purpose="retry", scope=scope, step_id=step_id)


def fail_step(tx: Tx, scope: str, step_id: str, error: ErrorInfo) -> None:
    """A step failed for good: apply its error handling (fail, continue or goto)."""
    handling = tx.step_plan(scope, step_id).on_error
    if "step" not in error.details:
        details = {**error.details, "step": join_path(scope, step_id)}
        error = error.model_copy(update={"details": details})
    cancel_timers(tx, scope, step_id)
    tx.emit(StepFailed, scope=scope, step_id=step_id, error=error,
            handling=handling.action, goto=handling.goto)
    if handling.action == "fail":
        fail_scope(tx, scope, error, step_id)
    else:
        after_step(tx, scope, step_id, handling.goto)


def after_step(
    tx: Tx, scope: str, step_id: str, target: str | None, skip: tuple[str, ...] = ()
) -> None:
    """Move on from a finished step: to ``target``, to its ``next``, or end the scope."""
    if not tx.live:
        return
    plan = tx.scope_plan(scope)
    if not plan.dag:
        successor = target if target is not None else plan.steps[step_id].next
        if successor == END:
            end_scope(tx, scope, "completed")
        else:
            schedule(tx, scope, successor)
        return
    owner = tx.state.scopes[scope]
    for other in skip:
        if other in plan.steps and other not in owner.steps:
            tx.emit(StepSkipped, scope=scope, step_id=other, reason="branch_not_taken")
    if target is not None and target != END and target in plan.steps:
        current = owner.steps.get(target)
        if current is None or current.status not in ACTIVE_STEP:
            schedule(tx, scope, target)
    advance_dag(tx, scope)


def advance_dag(tx: Tx, scope: str) -> None:
    """Start every step whose dependencies are done; end the scope when nothing is left."""
    plan = tx.scope_plan(scope)
    owner = tx.state.scopes[scope]
    progressed = True
    while progressed and tx.live:
        progressed = False
        for step_id in plan.order:
            if step_id in owner.steps:
                continue
            deps = [owner.steps.get(d) for d in (plan.deps or {}).get(step_id, ())
                    if d in plan.steps]
            if any(d is None or d.status in ACTIVE_STEP for d in deps):
                continue
            progressed = True
            if deps and all(d is not None and d.status == "skipped" for d in deps):
                tx.emit(StepSkipped, scope=scope, step_id=step_id, reason="dependencies_skipped")
            else:
                schedule(tx, scope, step_id)
    if not tx.live or any(s.status in ACTIVE_STEP for s in owner.steps.values()):
        return
    for step_id in plan.order:  # only a dependency cycle leaves steps unreached here
        if step_id not in owner.steps:
            tx.emit(StepSkipped, scope=scope, step_id=step_id, reason="unreachable")
    end_scope(tx, scope, "completed")


def end_scope(
    tx: Tx, scope: str, status: str, error: ErrorInfo | None = None, origin: str | None = None
) -> None:
    """A scope instance ended: tell its container, or end the execution at the top."""
    if not scope:
        if status == "completed":
            complete_execution(tx)
        else:
            fail_execution(tx, error or error_info("failed", "execution failed"), "", origin)
        return
    container, index = split_path(scope)
    owner = tx.state.scopes[scope]
    output = owner.steps[owner.last].output if owner.last is not None else None
    outer, step_id = split_path(container)
    child_ended = tx.kind(outer, step_id).child_ended
    assert child_ended is not None, "only a container has child scopes"
    child_ended(tx, outer, step_id, int(index), status, output, error)


def fail_scope(tx: Tx, scope: str, error: ErrorInfo, origin: str | None) -> None:
    """A step failed with ``fail``: stop the rest of its scope and fail the scope."""
    cancel_scope(tx, scope, "scope_failed")
    end_scope(tx, scope, "failed", error, origin)


def cancel_scope(tx: Tx, scope: str, reason: str) -> None:
    """Cancel every active step of a scope instance (and everything under it)."""
    owner = tx.state.scopes.get(scope)
    if owner is None:
        return
    for step_id in list(owner.steps):
        cancel_step(tx, scope, step_id, reason)


def cancel_step(tx: Tx, scope: str, step_id: str, reason: str) -> None:
    """Stop an active step: its task or child, its timers, its iterations or branches."""
    step = tx.step_state(scope, step_id)
    if step is None or step.status not in ACTIVE_STEP:
        return
    state = tx.state
    if step.task is not None and step.task in state.tasks:
        tx.emit(TaskCancelled, scope=scope, step_id=step_id, task_id=step.task, reason=reason)
    elif step.task is not None and step.task in state.children:
        tx.emit(ChildCancelled, scope=scope, step_id=step_id, child_execution_id=step.task)
    cancel_timers(tx, scope, step_id)
    for index in list(step.active):
        cancel_child_scope(tx, scope, step_id, index, reason)
    tx.emit(StepCancelled, scope=scope, step_id=step_id, reason=reason)


def cancel_child_scope(tx: Tx, scope: str, step_id: str, index: int, reason: str) -> None:
    """Cancel one loop iteration or parallel branch of a container step."""
    cancel_scope(tx, join_path(join_path(scope, step_id), index), reason)
    plan = tx.step_plan(scope, step_id)
    if plan.type == "loop":
        tx.emit(LoopIterationEnded, scope=scope, step_id=step_id, index=index, status="cancelled")
    else:
        name = plan.step.branches[index].name  # type: ignore[union-attr]
        tx.emit(BranchEnded, scope=scope, step_id=step_id, branch=index, name=name,
                status="cancelled")


def cancel_everything(tx: Tx, reason: str) -> None:
    """Before an execution ends: cancel all active steps, then any timer left open."""
    cancel_scope(tx, "", reason)
    for timer_id in list(tx.state.timers):
        tx.emit(TimerCancelled, timer_id=timer_id)


def complete_execution(tx: Tx) -> None:
    """The top-level scope completed: render ``outputs`` and end the execution."""
    output: Any = {}
    if tx.plan.outputs is not None:
        try:
            output = tx.plan.outputs(tx.context(""))
        except ExpressionError as exc:
            fail_execution(tx, expression_error(exc, "workflow outputs"), "", None)
            return
    cancel_everything(tx, "execution_completed")
    state = tx.state
    tx.emit(ExecutionCompleted, output=output, parent_execution_id=state.parent_execution_id,
            parent_step=state.parent_step)


def fail_execution(tx: Tx, error: ErrorInfo, scope: str, step_id: str | None) -> None:
    """End the execution as failed; scopes are kept so that a retry can resume."""
    cancel_everything(tx, "execution_failed")
    state = tx.state
    tx.emit(ExecutionFailed, error=error, scope=scope, step_id=step_id,
            parent_execution_id=state.parent_execution_id, parent_step=state.parent_step)
