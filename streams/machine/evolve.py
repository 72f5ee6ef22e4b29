"""``evolve``: the only code that writes execution state, one handler per event type.

Handlers use nothing but the event and the state (no definition, no clock), so a
stored history replays to the same state anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from schemas.executions import (
    BranchEnded,
    BranchStarted,
    ChildCancelled,
    ChildStarted,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionEvent,
    ExecutionFailed,
    ExecutionMigrated,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionTimedOut,
    LoopIterationEnded,
    LoopIterationStarted,
    RetryScheduled,
    SignalBuffered,
    SignalConsumed,
    StepCancelled,
    StepCompleted,
    StepFailed,
    StepScheduled,
    StepSkipped,
    StepStarted,
    TaskCancelled,
    TaskRequested,
    TimerCancelled,
    TimerFired,
    TimerScheduled,
    VariablesUpdated,
)
from schemas.gates import ExecutionQueued
from streams.machine.remap import rename_path, scope_renames
from streams.machine.state import (
    RECENT_COMMANDS,
    Scopes,
    ScopeState,
    State,
    StepState,
    TimerState,
    join_path,
)

__all__ = ["HistoryError", "apply", "evolve", "replay"]


class HistoryError(ValueError):
    """A history that no execution could have produced (gap, wrong id, no start)."""


def evolve(state: State | None, event: ExecutionEvent) -> State | None:
    """Return the state after ``event``; ``state`` itself is left unchanged.

    Args:
        state: The state before the event (None before ``execution_started``).
        event: The next event of this execution's history.

    Returns:
        The new state (None only while nothing has started).

    Raises:
        HistoryError: If the event cannot follow ``state`` (sequence gap, other execution).
    """
    return apply(state.copy() if state is not None else None, event)


def replay(events: Iterable[ExecutionEvent]) -> State | None:
    """Fold a stored history into the state a live worker held after it.

    Raises:
        HistoryError: If the history is not one execution's gap-free event list.
    """
    state: State | None = None
    for event in events:
        state = apply(state, event)
    return state


def apply(state: State | None, event: ExecutionEvent) -> State | None:
    """Apply ``event`` to ``state`` in place (``state`` must be owned by the caller).

    Raises:
        HistoryError: If the event cannot follow ``state``.
    """
    if state is None:
        if isinstance(event, ExecutionStarted):
            state = _started(event)
        elif isinstance(event, ExecutionQueued):
            state = _queued_first(event)
        elif event.type == "command_rejected":
            return None
        else:
            raise HistoryError(f"history must begin with execution_started, not {event.type}")
    else:
        if event.seq != state.seq + 1 or event.execution_id != state.execution_id:
            raise HistoryError(
                f"event seq {event.seq} of {event.execution_id!r} cannot follow "
                f"seq {state.seq} of {state.execution_id!r}"
            )
        handler = _HANDLERS.get(event.type)
        if handler is not None:
            handler(state, event)
    state.seq = event.seq
    if not state.recent or state.recent[-1] != event.command_id:
        state.recent.append(event.command_id)
        if len(state.recent) > RECENT_COMMANDS:
            del state.recent[0]
    if state.status in ("running", "waiting"):
        state.status = "running" if state.tasks or state.children else "waiting"
    return state


def _started(e: ExecutionStarted) -> State:
    return State(
        execution_id=e.execution_id, workflow_id=e.workflow_id,
        workflow_version=e.workflow_version, status="running", input=e.input,
        vars=e.variables, started_at=e.time, trigger_type=e.trigger_type,
        triggered_by=e.triggered_by, trigger_event=e.trigger_event,
        parent_execution_id=e.parent_execution_id, parent_step=e.parent_step,
        scopes=Scopes({"": ScopeState("")}), priority=e.priority,
    )


def _queued_first(e: ExecutionQueued) -> State:
    # No scopes and no variables yet: they come with `execution_started` once admitted.
    return State(
        execution_id=e.execution_id, workflow_id=e.workflow_id,
        workflow_version=e.workflow_version, status="queued", input=e.input, vars={},
        started_at=e.time, trigger_type=e.trigger_type, triggered_by=e.triggered_by,
        trigger_event=e.trigger_event, parent_execution_id=e.parent_execution_id,
        parent_step=e.parent_step, scopes=Scopes(), slot=e.ticket, priority=e.priority,
    )


def _queued_again(state: State, e: ExecutionQueued) -> None:
    state.status = "queued"  # a retry waiting for its slot; the failure stays until resumed
    state.slot = e.ticket


def _admitted(state: State, e: ExecutionStarted) -> None:
    state.status = "running"
    state.vars = e.variables
    state.started_at = e.time
    state.scopes = Scopes({"": ScopeState("")})


def _step(state: State, scope: str, step_id: str) -> StepState:
    return state.scopes[scope].steps[step_id]


def _release(state: State, step: StepState) -> None:
    if step.task is not None:
        state.tasks.pop(step.task, None)
        state.children.pop(step.task, None)
        step.task = None


def _step_scheduled(state: State, e: StepScheduled) -> None:
    state.scopes[e.scope].steps[e.step_id] = StepState("scheduled", started_at=e.time)


def _step_started(state: State, e: StepStarted) -> None:
    step = _step(state, e.scope, e.step_id)
    step.status = "running"
    step.attempt = e.attempt
    step.error = None
    if e.items is not None:
        step.items = e.items
    step.wait = e.waiting_for


def _task_requested(state: State, e: TaskRequested) -> None:
    state.tasks[e.task_id] = join_path(e.scope, e.step_id)
    _step(state, e.scope, e.step_id).task = e.task_id


def _task_cancelled(state: State, e: TaskCancelled) -> None:
    state.tasks.pop(e.task_id, None)
    step = _step(state, e.scope, e.step_id)
    if step.task == e.task_id:
        step.task = None


def _child_started(state: State, e: ChildStarted) -> None:
    if e.wait:
        state.children[e.child_execution_id] = join_path(e.scope, e.step_id)
        _step(state, e.scope, e.step_id).task = e.child_execution_id


def _child_cancelled(state: State, e: ChildCancelled) -> None:
    state.children.pop(e.child_execution_id, None)
    step = _step(state, e.scope, e.step_id)
    if step.task == e.child_execution_id:
        step.task = None


def _timer_scheduled(state: State, e: TimerScheduled) -> None:
    owner = join_path(e.scope, e.step_id) if e.step_id is not None else None
    state.timers[e.timer_id] = TimerState(e.fire_at, e.purpose, owner)


def _timer_gone(state: State, e: TimerFired | TimerCancelled) -> None:
    state.timers.pop(e.timer_id, None)


def _retry_scheduled(state: State, e: RetryScheduled) -> None:
    step = _step(state, e.scope, e.step_id)
    _release(state, step)
    step.status = "retrying"
    step.error = e.error.model_dump()


def _step_completed(state: State, e: StepCompleted) -> None:
    scope = state.scopes[e.scope]
    step = scope.steps[e.step_id]
    _release(state, step)
    step.status = "completed"
    step.output = e.output
    step.finished_at = e.time
    step.wait = step.items = None
    scope.last = e.step_id


def _step_failed(state: State, e: StepFailed) -> None:
    step = _step(state, e.scope, e.step_id)
    _release(state, step)
    step.status = "failed"
    step.error = state.last_error = e.error.model_dump()
    step.finished_at = e.time
    step.wait = step.items = None


def _step_skipped(state: State, e: StepSkipped) -> None:
    state.scopes[e.scope].steps[e.step_id] = StepState("skipped", finished_at=e.time)


def _step_cancelled(state: State, e: StepCancelled) -> None:
    step = _step(state, e.scope, e.step_id)
    _release(state, step)
    step.status = "cancelled"
    step.finished_at = e.time
    step.wait = step.items = None


def _variables_updated(state: State, e: VariablesUpdated) -> None:
    state.vars = {**state.vars, **e.values}


def _child_scope_started(
    state: State, e: LoopIterationStarted | BranchStarted, index: int, plan: str
) -> None:
    step = _step(state, e.scope, e.step_id)
    step.active = (*step.active, index)
    step.next_index = max(step.next_index, index + 1)
    key = join_path(join_path(e.scope, e.step_id), index)
    if isinstance(e, LoopIterationStarted):
        state.scopes[key] = ScopeState(plan, index=index, item=e.item)
    else:
        state.scopes[key] = ScopeState(plan)


def _loop_iteration_started(state: State, e: LoopIterationStarted) -> None:
    plan = join_path(state.scopes[e.scope].plan, e.step_id)
    _child_scope_started(state, e, e.index, plan)


def _branch_started(state: State, e: BranchStarted) -> None:
    plan = join_path(join_path(state.scopes[e.scope].plan, e.step_id), e.branch)
    _child_scope_started(state, e, e.branch, plan)


def _child_scope_ended(state: State, e: LoopIterationEnded | BranchEnded, index: int) -> None:
    step = _step(state, e.scope, e.step_id)
    if index in step.active:
        active = list(step.active)
        active.remove(index)
        step.active = tuple(active)
    if e.status == "completed":
        results = list(step.results)
        if len(results) <= index:
            results.extend([None] * (index + 1 - len(results)))
        results[index] = e.output
        step.results = tuple(results)
    elif e.status == "failed" and e.error is not None:
        step.errors = (*step.errors, {"index": index, **e.error.model_dump()})
    key = join_path(join_path(e.scope, e.step_id), index)
    prefix = key + "/"
    for stale in [k for k in state.scopes if k == key or k.startswith(prefix)]:
        del state.scopes[stale]


def _loop_iteration_ended(state: State, e: LoopIterationEnded) -> None:
    _child_scope_ended(state, e, e.index)


def _branch_ended(state: State, e: BranchEnded) -> None:
    _child_scope_ended(state, e, e.branch)


def _signal_buffered(state: State, e: SignalBuffered) -> None:
    state.signals.append([e.name, e.payload])


def _signal_consumed(state: State, e: SignalConsumed) -> None:
    for i, (name, _) in enumerate(state.signals):
        if name == e.name:
            del state.signals[i]
            return


def _resumed(state: State, e: ExecutionResumed) -> None:
    state.status = "running"
    state.error = state.ended_at = state.failed_step = None


def _migrated(state: State, e: ExecutionMigrated) -> None:
    mapping = e.mapping
    state.workflow_version = e.to_version
    if not mapping:
        return
    renames = scope_renames(dict(dict.items(state.scopes)), mapping)
    scopes = Scopes()
    for key, scope in state.scopes.items():  # in order: waiters are found in this order
        new_key, plan = renames[key]
        steps = {mapping.get(s, s): step for s, step in scope.steps.items()}
        last = mapping.get(scope.last, scope.last) if scope.last is not None else None
        scopes[new_key] = ScopeState(plan, steps, scope.index, scope.item, last)
    state.scopes = scopes
    state.tasks = {t: rename_path(p, renames, mapping) for t, p in state.tasks.items()}
    state.children = {c: rename_path(p, renames, mapping) for c, p in state.children.items()}
    state.timers = {
        t: TimerState(v.fire_at, v.purpose, rename_path(v.step, renames, mapping))
        if v.step is not None else v for t, v in state.timers.items()}
    if state.failed_step is not None:
        state.failed_step = rename_path(state.failed_step, renames, mapping)


def _completed(state: State, e: ExecutionCompleted) -> None:
    state.status = "completed"
    state.output = e.output
    state.ended_at = e.time


def _failed(state: State, e: ExecutionFailed) -> None:
    state.status = "failed"
    state.error = e.error.model_dump()
    state.failed_step = join_path(e.scope, e.step_id) if e.step_id is not None else None
    state.ended_at = e.time


def _cancelled(state: State, e: ExecutionCancelled) -> None:
    state.status = "cancelled"
    state.ended_at = e.time


def _timed_out(state: State, e: ExecutionTimedOut) -> None:
    state.status = "timed_out"
    state.ended_at = e.time


_HANDLERS: dict[str, Callable[[State, Any], None]] = {
    "execution_queued": _queued_again,
    "execution_started": _admitted,
    "step_scheduled": _step_scheduled,
    "step_started": _step_started,
    "task_requested": _task_requested,
    "task_cancelled": _task_cancelled,
    "timer_scheduled": _timer_scheduled,
    "timer_fired": _timer_gone,
    "timer_cancelled": _timer_gone,
    "retry_scheduled": _retry_scheduled,
    "step_completed": _step_completed,
    "step_failed": _step_failed,
    "step_skipped": _step_skipped,
    "step_cancelled": _step_cancelled,
    "child_started": _child_started,
    "child_cancelled": _child_cancelled,
    "variables_updated": _variables_updated,
    "loop_iteration_started": _loop_iteration_started,
    "loop_iteration_ended": _loop_iteration_ended,
    "branch_started": _branch_started,
    "branch_ended": _branch_ended,
    "signal_buffered": _signal_buffered,
    "signal_consumed": _signal_consumed,
    "execution_resumed": _resumed,
    "execution_migrated": _migrated,
    "execution_completed": _completed,
    "execution_failed": _failed,
    "execution_cancelled": _cancelled,
    "execution_timed_out": _timed_out,
}
