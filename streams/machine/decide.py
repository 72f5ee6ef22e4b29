"""``decide``: what a command means for an execution, as a list of events.

`decide` never raises on a command: one that does not apply yields a
``command_rejected`` event (or nothing, for a duplicate command id or a command
to an execution that never started), and the state it was given is not touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.commands import (
    AcquireSlot,
    CancelExecution,
    ChildCompleted,
    ChildFailed,
    CommandBase,
    EventReceived,
    GrantSlot,
    MigrateExecution,
    ReleaseSlot,
    RetryExecution,
    SignalReceived,
    StartExecution,
    TaskCompleted,
    TaskFailed,
    TimeoutExecution,
    TimerFired,
)
from schemas.definitions import InputProblem, WorkflowDefinition, check_input, fill_input
from schemas.executions import (
    CommandRejected,
    ExecutionCancelled,
    ExecutionEvent,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionTimedOut,
    SignalBuffered,
)
from schemas.executions import TimerFired as TimerFiredEvent
from schemas.expressions import ExpressionError
from streams.machine import admission, flow, migration, steps
from streams.machine.kinds import KINDS
from streams.machine.plan import Plan, compile_plan
from streams.machine.state import State, split_path
from streams.machine.tx import BudgetExceeded, Tx

__all__ = ["MAX_BUFFERED_SIGNALS", "apply_command", "decide"]

MAX_BUFFERED_SIGNALS = 100
"""Signals kept for wait steps not reached yet; more are rejected."""


def decide(
    state: State | None, command: CommandBase, definition: WorkflowDefinition | Plan,
    target: WorkflowDefinition | Plan | None = None,
) -> list[ExecutionEvent]:
    """The events that ``command`` causes; ``state`` is left unchanged.

    Args:
        state: The execution's state (None before it started).
        command: Any command from `schemas.commands`.
        definition: The definition version the execution runs, or its compiled `Plan`.
        target: For a `MigrateExecution`, the version it names (None: not published).

    Returns:
        The new events, in order, with gap-free ``seq`` after ``state.seq``.
    """
    return apply_command(state, command, definition, target)[0]


def apply_command(
    state: State | None, command: CommandBase, definition: WorkflowDefinition | Plan,
    target: WorkflowDefinition | Plan | None = None,
) -> tuple[list[ExecutionEvent], State | None]:
    """`decide` and `evolve` in one pass: the events and the state after them.

    The engine calls this instead of `decide` followed by a fold, which would apply
    every event twice. ``state`` is left unchanged.
    """
    plan = definition if isinstance(definition, Plan) else compile_plan(definition)
    if state is not None and command.command_id in state.recent:
        return [], state
    if state is None and not isinstance(command, StartExecution):
        return [], None
    tx = Tx(state.copy() if state is not None else None, plan, command, KINDS)
    try:
        if isinstance(command, MigrateExecution):
            _migrate(tx, command, target)
        else:
            _dispatch(tx, command)
        flow.run_queue(tx)
    except BudgetExceeded:
        error = flow.error_info(
            "step_budget_exceeded", "one command started too many steps (a cycle?)"
        )
        flow.fail_execution(tx, error, "", None)
    except Exception as exc:  # a bug must not stop the partition: refuse the command
        if state is None:
            return [], None
        tx = Tx(state.copy(), plan, command, KINDS)
        _reject(tx, "internal_error", f"{type(exc).__name__}: {exc}"[:500])
    return tx.events, tx._state


def _dispatch(tx: Tx, command: CommandBase) -> None:
    if isinstance(command, StartExecution):
        limit = tx.plan.definition.concurrency_limit
        if tx._state is not None:
            _reject(tx, "already_started", "the execution exists")
        elif input_problems(tx.plan, command.input):
            _start(tx, command)  # starts and fails at once, naming the fields: never queued
        elif limit is not None:
            admission.queue(tx, command, limit)
        else:
            _start(tx, command)
        return
    state = tx.state
    if state.workflow_id != tx.plan.workflow_id or state.workflow_version != tx.plan.version:
        _reject(tx, "definition_mismatch",
                f"execution runs {state.workflow_id}@{state.workflow_version}")
        return
    if isinstance(command, GrantSlot):  # answered even once finished: the slot goes back
        _grant(tx, command)
        return
    if isinstance(command, AcquireSlot | ReleaseSlot):
        _reject(tx, "not_a_gate", "slots are acquired and released at gate:<workflow id>")
        return
    if state.finished and not isinstance(command, RetryExecution):
        _reject(tx, "execution_finished", f"the execution is {state.status}")
        return
    _HANDLERS[command.type](tx, command)  # type: ignore[attr-defined]


def _migrate(tx: Tx, command: MigrateExecution, target: WorkflowDefinition | Plan | None) -> None:
    state = tx.state
    if state.workflow_id != tx.plan.workflow_id or state.workflow_version != tx.plan.version:
        _reject(tx, "definition_mismatch",
                f"execution runs {state.workflow_id}@{state.workflow_version}")
        return
    plan = target if isinstance(target, Plan) or target is None else compile_plan(target)
    migration.migrate(tx, command, plan)


def _reject(tx: Tx, code: str, message: str) -> None:
    command_type: str = getattr(tx.command, "type", type(tx.command).__name__)
    tx.emit(CommandRejected, command_type=command_type, code=code, message=message)


def input_problems(plan: Plan, payload: Any) -> list[InputProblem]:
    """What is wrong with a start's input for `plan`'s declared inputs (empty: nothing)."""
    return check_input(plan.definition.inputs, payload)


def _start(tx: Tx, command: StartExecution) -> None:
    plan = tx.plan
    variables: Any = {}
    failure = None
    given, problems = fill_input(plan.definition.inputs, command.input)
    if problems:
        failure = flow.error_info("invalid_input", "; ".join(
            f"{p.path}: {p.message}" for p in problems))
    if plan.variables is not None and failure is None:
        context = {
            "input": given, "event": command.trigger_event or {}, "now": command.time,
            "execution": {"id": command.execution_id, "workflow_id": plan.workflow_id,
                          "version": plan.version},
            "vars": {}, "steps": {}, "item": None, "index": None, "error": None,
        }
        try:
            variables = plan.variables(context)
        except ExpressionError as exc:
            failure = flow.expression_error(exc, "variables")
        if not isinstance(variables, dict):
            variables = {}
    tx.emit(ExecutionStarted, workflow_id=plan.workflow_id, workflow_version=plan.version,
            input=given, variables=variables, trigger_type=command.trigger_type,
            triggered_by=command.triggered_by, trigger_event=command.trigger_event,
            parent_execution_id=command.parent_execution_id, parent_step=command.parent_step,
            priority=command.priority)
    if failure is not None:
        flow.fail_execution(tx, failure, "", None)
        return
    if plan.definition.timeout is not None:
        flow.schedule_timer(tx, "", None, plan.definition.timeout, "workflow_timeout")
    flow.start_scope(tx, "")


def _task_completed(tx: Tx, command: TaskCompleted) -> None:
    path = tx.state.tasks.get(command.task_id)
    if path is None:
        _reject(tx, "unknown_task", f"no open task {command.task_id!r}")
        return
    scope, step_id = split_path(path)
    flow.finish_step(tx, scope, step_id, command.output)


def _task_failed(tx: Tx, command: TaskFailed) -> None:
    path = tx.state.tasks.get(command.task_id)
    if path is None:
        _reject(tx, "unknown_task", f"no open task {command.task_id!r}")
        return
    scope, step_id = split_path(path)
    flow.fail_attempt(tx, scope, step_id, command.error)


def _child_completed(tx: Tx, command: ChildCompleted) -> None:
    path = tx.state.children.get(command.child_execution_id)
    if path is None:
        _reject(tx, "unknown_child", f"no child {command.child_execution_id!r} awaited")
        return
    scope, step_id = split_path(path)
    flow.finish_step(tx, scope, step_id, command.output)


def _child_failed(tx: Tx, command: ChildFailed) -> None:
    path = tx.state.children.get(command.child_execution_id)
    if path is None:
        _reject(tx, "unknown_child", f"no child {command.child_execution_id!r} awaited")
        return
    scope, step_id = split_path(path)
    flow.fail_attempt(tx, scope, step_id, command.error)


def _timer_fired(tx: Tx, command: TimerFired) -> None:
    timer = tx.state.timers.get(command.timer_id)
    if timer is None:
        _reject(tx, "unknown_timer", f"no open timer {command.timer_id!r}")
        return
    tx.emit(TimerFiredEvent, timer_id=command.timer_id, purpose=timer.purpose)
    if timer.purpose == "workflow_timeout" or timer.step is None:
        _end(tx, ExecutionTimedOut, "workflow timeout")
        return
    scope, step_id = split_path(timer.step)
    if timer.purpose == "retry":
        restart = tx.kind(scope, step_id).restart
        assert restart is not None, "only retried kinds schedule retry timers"
        restart(tx, scope, step_id)
    elif timer.purpose == "wait":
        flow.finish_step(tx, scope, step_id, None)
    else:
        tx.kind(scope, step_id).timed_out(tx, timer.step)


def _signal_received(tx: Tx, command: SignalReceived) -> None:
    waiter = steps.find_signal_waiter(tx, command.name)
    if waiter is not None:
        flow.finish_step(tx, *waiter, command.payload, extra={"signal": command.payload})
    elif len(tx.state.signals) >= MAX_BUFFERED_SIGNALS:
        _reject(tx, "signal_buffer_full", f"{MAX_BUFFERED_SIGNALS} signals already wait")
    else:
        tx.emit(SignalBuffered, name=command.name, payload=command.payload)


def _event_received(tx: Tx, command: EventReceived) -> None:
    waiter = steps.find_event_waiter(tx, command.event)
    if waiter is None:
        _reject(tx, "no_waiter", "no wait step expects this event")
        return
    flow.finish_step(tx, *waiter, command.event, extra={"signal": command.event})


def _end(tx: Tx, terminal: type[ExecutionCancelled] | type[ExecutionTimedOut], reason: str) -> None:
    flow.cancel_everything(tx, terminal.model_fields["type"].default)
    state = tx.state
    tx.emit(terminal, reason=reason, parent_execution_id=state.parent_execution_id,
            parent_step=state.parent_step)


def _cancel(tx: Tx, command: CancelExecution) -> None:
    _end(tx, ExecutionCancelled, command.reason)


def _timeout(tx: Tx, command: TimeoutExecution) -> None:
    _end(tx, ExecutionTimedOut, command.reason)


def _grant(tx: Tx, command: GrantSlot) -> None:
    verdict = admission.verdict(tx.state, command)
    if verdict == "give_back":
        admission.give_back(tx, command)
    elif verdict == "admit" and tx.state.failed_step is not None:
        _resume(tx, None)  # a retry that waited for its slot
    elif verdict == "admit":
        _start(tx, admission.start_command(tx.state, command))


def _retry(tx: Tx, command: RetryExecution) -> None:
    state = tx.state
    if state.status != "failed":
        _reject(tx, "not_failed", f"the execution is {state.status}")
        return
    if state.failed_step is None:
        _reject(tx, "nothing_to_retry", "the execution did not fail in a step")
        return
    limit = tx.plan.definition.concurrency_limit
    if limit is not None:
        admission.queue(tx, state, limit)
        return
    _resume(tx, command.requested_by)


def _resume(tx: Tx, requested_by: str | None) -> None:
    assert tx.state.failed_step is not None
    _, failed = split_path(tx.state.failed_step)
    tx.emit(ExecutionResumed, requested_by=requested_by)
    if tx.plan.definition.timeout is not None:
        flow.schedule_timer(tx, "", None, tx.plan.definition.timeout, "workflow_timeout")
    top = tx.state.scopes[""]
    again = [s for s, st in top.steps.items() if s == failed or st.status == "cancelled"]
    for step_id in again:
        flow.schedule(tx, "", step_id)


_HANDLERS: dict[str, Callable[[Tx, Any], None]] = {
    "task_completed": _task_completed,
    "task_failed": _task_failed,
    "timer_fired": _timer_fired,
    "signal_received": _signal_received,
    "event_received": _event_received,
    "child_completed": _child_completed,
    "child_failed": _child_failed,
    "cancel_execution": _cancel,
    "timeout_execution": _timeout,
    "retry_execution": _retry,
}
