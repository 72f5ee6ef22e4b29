"""The executions view: a summary per execution for lists, and a detail for one.

Keys: ``x/<id>`` summary, ``xd/<id>`` detail (variables, steps with attempts and errors),
``xe/<id>/<seq>`` the timeline (each event as it was); the list indexes are in ``indexes``.
A redelivered event (``seq`` at or below the last one applied) changes nothing.

Sizes: a summary (a list row) has a fixed set of scalar fields, never the timeline or the
variables; the detail is complete; the timeline is one record per event, read in pages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from projections.views._tx import Reader, ScanReader, Tx
from projections.views.activity import live_status, migrated_path, track
from schemas.commands import ErrorInfo
from schemas.executions import (
    TERMINAL_EVENT_TYPES,
    ExecutionEvent,
    ExecutionEventBase,
    ExecutionMigrated,
    ExecutionResumed,
    ExecutionStarted,
    ExecutionStatus,
    RetryScheduled,
    StepCancelled,
    StepCompleted,
    StepEventBase,
    StepFailed,
    StepScheduled,
    StepSkipped,
    StepStarted,
    TaskRequested,
    VariablesUpdated,
)
from schemas.gates import ExecutionQueued

__all__ = [
    "Attempt",
    "ExecutionDetail",
    "ExecutionSummary",
    "LogLine",
    "StepView",
    "detail_key",
    "evolve_detail",
    "evolve_summary",
    "summary_key",
    "timeline_prefix",
]

StepStatus = Literal["scheduled", "running", "retrying", "completed", "failed", "skipped",
                     "cancelled"]


class ExecutionSummary(BaseModel):
    """One execution, as lists show it.

    Attributes:
        status: ``queued`` while a workflow's ``concurrency_limit`` holds it back, then
            ``running`` (or ``waiting``, on a timer, signal or event with no task or
            child in flight) until a terminal event; ``running`` again after a resume.
        started_at: When it started, or was queued until it starts.
        duration_ms: From start to the terminal event, once there is one.
        failed_step: The step path that failed the execution, if one did.
        last_seq: The last event applied (duplicates at or below it are dropped).
    """

    execution_id: str
    workflow_id: str = ""
    workflow_version: str = ""
    status: ExecutionStatus = "running"
    trigger_type: str = ""
    triggered_by: str | None = None
    parent_execution_id: str | None = None
    priority: str = "normal"
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    duration_ms: float | None = None
    error: ErrorInfo | None = None
    failed_step: str | None = None
    last_seq: int = 0
    event_count: int = 0

    @property
    def finished(self) -> bool:
        """Whether the execution is in a terminal status."""
        return self.ended_at is not None


class Attempt(BaseModel):
    """One attempt of a step."""

    attempt: int
    started_at: datetime
    ended_at: datetime | None = None
    outcome: Literal["running", "completed", "failed"] = "running"
    error: ErrorInfo | None = None


class StepView(BaseModel):
    """One step instance (a step path), with every attempt and error it had."""

    path: str
    step_type: str = ""
    status: StepStatus = "scheduled"
    attempts: list[Attempt] = []
    errors: list[ErrorInfo] = []
    output: Any = None


MAX_LOG_LINES = 1000
"""Log lines kept per execution; later ones are counted in ``logs_dropped``."""
MAX_LOG_MESSAGE_BYTES = 2048
"""A log message longer than this (UTF-8) is cut and ends with `TRUNCATED`."""
TRUNCATED = "… [truncated]"
_LEVEL_NAMES = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning",
                "error": "error", "critical": "critical"}
"""A `with.level` as written -> the level shown; anything else is info, as the action says."""


class LogLine(BaseModel):
    """One line a `log` step wrote, at or above the workflow's `monitoring.log_level`.

    Attributes:
        seq: The execution event that requested it (the order of the lines).
        time: That event's time (never a clock read while folding).
        step: The step path.
    """

    seq: int
    time: datetime
    step: str
    level: str
    message: str


class ExecutionDetail(BaseModel):
    """What a detail page shows besides the summary and the timeline.

    Attributes:
        in_flight: Step path -> the task or child execution it waits on.
        waiting_on: ``timer:<id>`` or a wait step's path -> what it waits for.
        logs: The execution's log lines in order, at most `MAX_LOG_LINES`.
        logs_dropped: Lines past that bound, counted but not kept.
    """

    input: dict[str, Any] = {}
    variables: dict[str, Any] = {}
    steps: dict[str, StepView] = {}
    output: Any = None
    in_flight: dict[str, str] = {}
    waiting_on: dict[str, str] = {}
    logs: list[LogLine] = []
    logs_dropped: int = 0


def summary_key(execution_id: str) -> str:
    """The key of an execution's summary."""
    return f"x/{execution_id}"


def detail_key(execution_id: str) -> str:
    """The key of an execution's detail."""
    return f"xd/{execution_id}"


def timeline_prefix(execution_id: str) -> str:
    """The key prefix of an execution's timeline."""
    return f"xe/{execution_id}/"


def evolve_summary(summary: ExecutionSummary | None, event: ExecutionEventBase) -> ExecutionSummary:
    """The summary after ``event`` (``summary`` is None before the first event)."""
    if summary is None:
        summary = ExecutionSummary(execution_id=event.execution_id, started_at=event.time,
                                   updated_at=event.time)
    changes: dict[str, Any] = {"last_seq": event.seq, "updated_at": event.time,
                               "event_count": summary.event_count + 1}
    if isinstance(event, ExecutionStarted | ExecutionQueued):
        queued = isinstance(event, ExecutionQueued)
        changes |= {"workflow_id": event.workflow_id, "workflow_version": event.workflow_version,
                    "trigger_type": event.trigger_type, "triggered_by": event.triggered_by,
                    "parent_execution_id": event.parent_execution_id,
                    "priority": event.priority,
                    "status": "queued" if queued else "running", "started_at": event.time}
    elif isinstance(event, ExecutionMigrated):
        changes["workflow_version"] = event.to_version
        if summary.failed_step is not None:  # a retry queued for its slot
            changes["failed_step"] = migrated_path(summary.failed_step, event.mapping)
    elif isinstance(event, ExecutionResumed):
        changes |= {"status": "running", "ended_at": None, "duration_ms": None, "error": None,
                    "failed_step": None}
    elif event.type in TERMINAL_EVENT_TYPES:  # type: ignore[attr-defined]
        changes |= _terminal(summary, event)
    return summary.model_copy(update=changes)


def _terminal(summary: ExecutionSummary, event: ExecutionEventBase) -> dict[str, Any]:
    status = event.type.removeprefix("execution_")  # type: ignore[attr-defined]
    duration = (event.time - summary.started_at).total_seconds() * 1000
    changes: dict[str, Any] = {"status": status, "ended_at": event.time,
                               "duration_ms": max(duration, 0.0)}
    error = getattr(event, "error", None)
    if error is not None:
        step_id = getattr(event, "step_id", None)
        changes |= {"error": error,
                    "failed_step": step_id and _path(getattr(event, "scope", ""), step_id)}
    return changes


def evolve_detail(detail: ExecutionDetail, event: ExecutionEventBase) -> ExecutionDetail:
    """The detail after ``event``: variables merged, step attempts and errors recorded, and
    what is in flight or waited for."""
    activity = (detail.in_flight, detail.waiting_on)
    tracked = track(activity, event)
    if tracked is not activity:
        detail = detail.model_copy(update={"in_flight": tracked[0], "waiting_on": tracked[1]})
    return _evolve_content(detail, event)


def _evolve_content(detail: ExecutionDetail, event: ExecutionEventBase) -> ExecutionDetail:
    if isinstance(event, ExecutionStarted):
        return detail.model_copy(update={"input": event.input, "variables": dict(event.variables)})
    if isinstance(event, ExecutionQueued):
        return detail.model_copy(update={"input": event.input})
    if isinstance(event, VariablesUpdated):
        return detail.model_copy(update={"variables": detail.variables | event.values})
    if isinstance(event, ExecutionMigrated) and event.mapping:
        steps: dict[str, StepView] = {}
        for path, view in detail.steps.items():
            moved = migrated_path(path, event.mapping)
            steps[moved] = view.model_copy(update={"path": moved}) if moved != path else view
        return detail.model_copy(update={"steps": steps})
    if event.type == "execution_completed":  # type: ignore[attr-defined]
        return detail.model_copy(update={"output": getattr(event, "output", None)})
    if isinstance(event, TaskRequested) and event.task_type == "log" and event.attempt == 1:
        return _add_log_line(detail, event)
    if isinstance(event, StepEventBase):
        path = _path(event.scope, event.step_id)
        step = _evolve_step(detail.steps.get(path) or StepView(path=path), event)
        if step is not None:
            return detail.model_copy(update={"steps": detail.steps | {path: step}})
    return detail


def _add_log_line(detail: ExecutionDetail, event: TaskRequested) -> ExecutionDetail:
    # The engine only requests `log` tasks at or above the workflow's level, so every one is a
    # line; a retried attempt (a lost worker) is the same line, hence attempt 1 only.
    if len(detail.logs) >= MAX_LOG_LINES:
        return detail.model_copy(update={"logs_dropped": detail.logs_dropped + 1})
    params = event.params if isinstance(event.params, dict) else {}
    level = str(params.get("level", "info")).lower()
    line = LogLine(seq=event.seq, time=event.time, step=_path(event.scope, event.step_id),
                   level=_LEVEL_NAMES.get(level, "info"),
                   message=_bounded(str(params.get("message", ""))))
    return detail.model_copy(update={"logs": [*detail.logs, line]})


def _bounded(message: str) -> str:
    data = message.encode()
    if len(data) <= MAX_LOG_MESSAGE_BYTES:
        return message
    room = MAX_LOG_MESSAGE_BYTES - len(TRUNCATED.encode())
    return data[:room].decode(errors="ignore") + TRUNCATED


def _evolve_step(step: StepView, event: StepEventBase) -> StepView | None:
    if isinstance(event, StepScheduled):
        return step.model_copy(update={"status": "scheduled", "step_type": event.step_type})
    if isinstance(event, StepStarted):
        attempt = Attempt(attempt=event.attempt, started_at=event.time)
        return step.model_copy(update={"status": "running", "attempts": [*step.attempts, attempt]})
    if isinstance(event, RetryScheduled):
        return _end_attempt(step, event.time, "retrying", event.error)
    if isinstance(event, StepFailed):
        return _end_attempt(step, event.time, "failed", event.error)
    if isinstance(event, StepCompleted):
        done = _end_attempt(step, event.time, "completed", None)
        return done.model_copy(update={"output": event.output})
    if isinstance(event, StepSkipped | StepCancelled):
        status: StepStatus = "skipped" if isinstance(event, StepSkipped) else "cancelled"
        return step.model_copy(update={"status": status})
    return None


def _end_attempt(step: StepView, at: datetime, status: StepStatus,
                 error: ErrorInfo | None) -> StepView:
    attempts = list(step.attempts)
    if attempts and attempts[-1].outcome == "running":
        outcome: Literal["completed", "failed"] = "completed" if status == "completed" else "failed"
        attempts[-1] = attempts[-1].model_copy(update={"ended_at": at, "outcome": outcome,
                                                       "error": error})
    errors = step.errors if error is None else [*step.errors, error]
    return step.model_copy(update={"status": status, "attempts": attempts, "errors": errors})


def _path(scope: str, step_id: str) -> str:
    return f"{scope}/{step_id}" if scope else step_id


def apply_execution_event(tx: Tx, event: ExecutionEvent) -> tuple[
        ExecutionSummary | None, ExecutionSummary] | None:
    """Fold one execution event into the view.

    Returns:
        ``(before, after)`` summaries for the views derived from this one, or None when the
        event was a duplicate and nothing changed.
    """
    before = tx.load(summary_key(event.execution_id), ExecutionSummary)
    if before is not None and event.seq <= before.last_seq:
        return None
    after = evolve_summary(before, event)
    detail = tx.load(detail_key(event.execution_id), ExecutionDetail) or ExecutionDetail()
    detail = evolve_detail(detail, event)
    status = live_status(after.status, (detail.in_flight, detail.waiting_on))
    if status != after.status:
        after = after.model_copy(update={"status": status})
    tx.save(summary_key(event.execution_id), after)
    tx.save(detail_key(event.execution_id), detail)
    tx.put(f"{timeline_prefix(event.execution_id)}{event.seq:012d}", event.model_dump_json().encode())
    return before, after


def read_timeline(reader: ScanReader, execution_id: str) -> list[dict[str, Any]]:
    """Every event of an execution, in order, as JSON objects."""
    return [orjson.loads(value) for _, value in reader.scan(timeline_prefix(execution_id))]


def read_summary(reader: Reader, execution_id: str) -> ExecutionSummary | None:
    """The summary of one execution, or None."""
    data = reader.get(summary_key(execution_id))
    return None if data is None else ExecutionSummary.model_validate_json(data)


def read_detail(reader: Reader, execution_id: str) -> ExecutionDetail | None:
    """The detail of one execution, or None."""
    data = reader.get(detail_key(execution_id))
    return None if data is None else ExecutionDetail.model_validate_json(data)
