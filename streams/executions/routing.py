"""What an execution's new events ask of the rest of the engine, as records to produce.

Pure: the processor calls `follow_ups` on the events `decide` returned and produces the result
in the same batch as the events. A wait for a correlated event opens a subscription on
`hw.triggers` (`streams.triggers.correlation`), keyed by the subject so the trigger agent owning the
subject's partition sees it before any later event for that subject. Every id here is derived
from the causing event's execution id and seq, so a redelivered command that re-produces its
events re-produces the same follow-ups with the same ids, and their consumers drop them as
duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas import tasks
from schemas.commands import (
    AcquireSlot,
    CancelExecution,
    ChildCompleted,
    ChildFailed,
    ErrorInfo,
    GrantSlot,
    ReleaseSlot,
    StartExecution,
)
from schemas.executions import (
    TERMINAL_EVENT_TYPES,
    ChildCancelled,
    ChildStarted,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionEvent,
    ExecutionEventBase,
    ExecutionFailed,
    ExecutionTimedOut,
    StepStarted,
    TaskRequested,
    TimerScheduled,
)
from schemas.gates import ExecutionQueued, SlotGranted, SlotReturned
from schemas.waits import Subscription, opened_event
from streams.machine import join_path
from streams.machine.gate import gate_id
from streams.runtime.outgoing import Outgoing

__all__ = ["follow_ups", "grants", "release"]


def follow_ups(events: Iterable[ExecutionEvent], workflow_id: str, version: str,
               slot: str | None = None) -> list[Outgoing]:
    """The tasks and commands that `events` of one execution cause, in order.

    Args:
        events: New events of one execution.
        workflow_id: The workflow it runs.
        version: The version it runs.
        slot: The ticket of its concurrency slot after the events (`State.slot`), released
            at its workflow's gate when one of the events ends the execution.
    """
    out: list[Outgoing] = []
    batch = list(events)
    for i, event in enumerate(batch):
        record = _follow_up(event, workflow_id, version)
        if record is None and isinstance(event, StepStarted):
            record = _wait_opened(event, batch, i)
        if record is not None:
            out.append(record)
        if slot is not None and event.type in TERMINAL_EVENT_TYPES:
            out.append(release(event, gate_id(workflow_id), slot))
    return out


def release(event: ExecutionEventBase, gate: str, ticket: str) -> Outgoing:
    """The command that gives ``ticket`` back to ``gate``, caused by ``event``.

    Its id derives from the ticket alone: an end and a returned grant of the same ticket
    release it once.
    """
    return Outgoing("commands", gate, ReleaseSlot(
        command_id=f"{ticket}:release", execution_id=gate, time=event.time,
        holder=event.execution_id, ticket=ticket))


def grants(events: Iterable[ExecutionEventBase]) -> list[Outgoing]:
    """The `GrantSlot` commands a gate's new events send to the executions it admits."""
    return [Outgoing("commands", e.holder, GrantSlot(
        command_id=_cause(e), execution_id=e.holder, time=e.time, gate_id=e.execution_id,
        ticket=e.ticket)) for e in events if isinstance(e, SlotGranted)]


def _cause(event: ExecutionEventBase) -> str:
    return f"{event.execution_id}:e{event.seq}"


def _follow_up(event: ExecutionEvent, workflow_id: str, version: str) -> Outgoing | None:
    if isinstance(event, TaskRequested):
        task = tasks.TaskRequested.from_execution_event(
            event, workflow_id=workflow_id, workflow_version=version)
        return Outgoing("tasks", event.execution_id, task)
    if isinstance(event, ChildStarted):
        start = StartExecution(
            command_id=_cause(event), execution_id=event.child_execution_id, time=event.time,
            workflow_id=event.workflow_id, version=None if event.version == "*" else event.version,
            input=event.input, trigger_type="subprocess", triggered_by=event.execution_id,
            parent_execution_id=event.execution_id if event.wait else None,
            parent_step=join_path(event.scope, event.step_id) if event.wait else None)
        return Outgoing("commands", event.child_execution_id, start)
    if isinstance(event, ExecutionQueued):
        acquire = AcquireSlot(command_id=f"{event.ticket}:acquire", execution_id=event.gate_id,
                              time=event.time, holder=event.execution_id, ticket=event.ticket,
                              limit=event.limit, priority=event.priority)
        return Outgoing("commands", event.gate_id, acquire)
    if isinstance(event, SlotReturned):
        return release(event, event.gate_id, event.ticket)
    if isinstance(event, ChildCancelled):
        cancel = CancelExecution(command_id=_cause(event), execution_id=event.child_execution_id,
                                 time=event.time, reason="the parent stopped waiting",
                                 requested_by=event.execution_id)
        return Outgoing("commands", event.child_execution_id, cancel)
    return _to_parent(event)


def _wait_opened(event: StepStarted, batch: list[ExecutionEvent], at: int) -> Outgoing | None:
    """The subscription record of a wait for a correlated event (`batch[at]`; none without a
    subject: a null correlation cannot be routed to one partition)."""
    wait = event.waiting_for
    if not wait or "event_type" not in wait or not isinstance(wait.get("subject"), str):
        return None
    # The step timeout, if any, is scheduled in the same decision, right after the start.
    expires = next((e.fire_at for e in batch[at + 1:] if isinstance(e, TimerScheduled)
                    and e.purpose == "step_timeout" and e.scope == event.scope
                    and e.step_id == event.step_id), None)
    subscription = Subscription(
        id=_cause(event), execution_id=event.execution_id, scope=event.scope,
        step_id=event.step_id, event_type=str(wait["event_type"]), subject=wait["subject"],
        expires=expires)
    return Outgoing("triggers", subscription.subject, opened_event(subscription, event.time))


_ENDINGS = (ExecutionCompleted, ExecutionFailed, ExecutionCancelled, ExecutionTimedOut)


def _to_parent(event: ExecutionEvent) -> Outgoing | None:
    # Only an ending tells a parent; asking other events for the field costs pydantic's slow
    # attribute-miss path on every event.
    if not isinstance(event, _ENDINGS) or event.parent_execution_id is None:
        return None
    parent = event.parent_execution_id
    common: dict[str, Any] = {"command_id": _cause(event), "execution_id": parent,
                              "time": event.time, "child_execution_id": event.execution_id}
    if isinstance(event, ExecutionCompleted):
        return Outgoing("commands", parent, ChildCompleted(**common, output=event.output))
    if isinstance(event, ExecutionFailed):
        return Outgoing("commands", parent, ChildFailed(**common, error=event.error))
    if isinstance(event, ExecutionCancelled | ExecutionTimedOut):
        code = "child_cancelled" if isinstance(event, ExecutionCancelled) else "child_timed_out"
        error = ErrorInfo(code=code, message=event.reason, retryable=False)
        return Outgoing("commands", parent, ChildFailed(**common, error=error))
    return None
