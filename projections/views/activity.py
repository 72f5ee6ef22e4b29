"""What a running execution is doing: work in flight, and what it waits for.

The engine's rule (``streams.machine``) is that a running execution with no task or child in
flight is ``waiting``. The view applies it only when something is actually waited for: a
timer (a wait step's delay, a retry's backoff) or a wait step's signal or event. So a list
filtered on ``status=waiting`` answers "which executions sit on a timer, a signal or an
event", and one caught between two events of the same command never shows as waiting.

Both maps are kept in the execution's detail (``in_flight``: step path -> task or child id;
``waiting_on``: ``timer:<id>`` or a step path -> what it waits for), so the status is a fold
of the execution's own events, like everything else in the view.
"""

from __future__ import annotations

from schemas.executions import (
    TERMINAL_EVENT_TYPES,
    ChildCancelled,
    ChildStarted,
    ExecutionEventBase,
    ExecutionMigrated,
    RetryScheduled,
    StepCancelled,
    StepCompleted,
    StepEventBase,
    StepFailed,
    StepScheduled,
    StepSkipped,
    StepStarted,
    TaskCancelled,
    TaskRequested,
    TimerCancelled,
    TimerFired,
    TimerScheduled,
)

__all__ = ["Activity", "live_status", "migrated_path", "track"]

Activity = tuple[dict[str, str], dict[str, str]]
"""``(in_flight, waiting_on)``."""

_WAIT_TIMERS = ("wait", "retry")
_STEP_ENDS = (StepScheduled, StepCompleted, StepFailed, StepSkipped, StepCancelled)


def _path(event: StepEventBase) -> str:
    return f"{event.scope}/{event.step_id}" if event.scope else event.step_id


def _without(mapping: dict[str, str], key: str, only_if: str | None = None) -> dict[str, str]:
    if key not in mapping or (only_if is not None and mapping[key] != only_if):
        return mapping
    return {k: v for k, v in mapping.items() if k != key}


def _waited_for(event: StepStarted) -> str:
    wanted = event.waiting_for or {}
    if "signal" in wanted:
        return f"signal {wanted['signal']}"
    return f"event {wanted.get('event_type', '')}".strip()


def migrated_path(path: str, mapping: dict[str, str]) -> str:
    """A step path after a migration renamed step ids: a path is ``(<step>/<index>/)*<step>``,
    so every even segment is a step id."""
    parts = path.split("/")
    return "/".join(mapping.get(p, p) if i % 2 == 0 else p for i, p in enumerate(parts))


def track(activity: Activity, event: ExecutionEventBase) -> Activity:
    """``activity`` after ``event`` (the same objects when it changes nothing)."""
    in_flight, waiting = activity
    if event.type in TERMINAL_EVENT_TYPES:  # type: ignore[attr-defined]
        return {}, {}
    if isinstance(event, ExecutionMigrated) and event.mapping:
        return ({migrated_path(k, event.mapping): v for k, v in in_flight.items()},
                {k if k.startswith("timer:") else migrated_path(k, event.mapping): v
                 for k, v in waiting.items()})
    if isinstance(event, TimerScheduled) and event.purpose in _WAIT_TIMERS:
        return in_flight, waiting | {f"timer:{event.timer_id}":
                                     f"{event.purpose} timer until {event.fire_at.isoformat()}"}
    if isinstance(event, TimerFired | TimerCancelled):
        return in_flight, _without(waiting, f"timer:{event.timer_id}")
    if not isinstance(event, StepEventBase):
        return activity
    path = _path(event)
    if isinstance(event, TaskRequested):
        return in_flight | {path: event.task_id}, waiting
    if isinstance(event, ChildStarted):
        return (in_flight | {path: event.child_execution_id}, waiting) if event.wait else activity
    if isinstance(event, TaskCancelled | ChildCancelled):
        gone = event.task_id if isinstance(event, TaskCancelled) else event.child_execution_id
        return _without(in_flight, path, gone), waiting
    if isinstance(event, StepStarted) and event.waiting_for:
        return in_flight, waiting | {path: _waited_for(event)}
    if isinstance(event, RetryScheduled):
        return _without(in_flight, path), waiting
    if isinstance(event, _STEP_ENDS):
        return _without(in_flight, path), _without(waiting, path)
    return activity


def live_status(status: str, activity: Activity) -> str:
    """``waiting`` for a running execution that waits on something with nothing in flight."""
    if status not in ("running", "waiting"):
        return status
    in_flight, waiting = activity
    return "waiting" if waiting and not in_flight else "running"
