"""Execution events: the history of one workflow execution (topic ``hw.executions``).

An execution's state is a fold over these events. Every event carries the
``execution_id`` (the Kafka key), a gap-free ``seq`` starting at 1, the ``time``
of the command that caused it and that command's ``command_id`` (causation).

Steps are addressed by ``scope`` and ``step_id``. ``scope`` is ``""`` at the top
level; inside a loop iteration or a parallel branch it is the container's step
path followed by the iteration or branch index, e.g. ``"each_order/3"`` or
``"fan_out/0/each_line/7"``. The step path is ``scope + "/" + step_id`` (or just
``step_id`` at the top level).

Released events are facts: fields are only ever added, and only as optional.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from schemas._event_base import ExecutionEventBase
from schemas.commands import ErrorInfo, Priority, UtcDatetime
from schemas.gates import (
    GATE_EVENT_TYPES,
    ExecutionQueued,
    SlotGranted,
    SlotQueued,
    SlotReleased,
    SlotReturned,
)

__all__ = [
    "EVENT_TYPES",
    "GATE_EVENT_TYPES",
    "TERMINAL_EVENT_TYPES",
    "BranchEnded",
    "BranchStarted",
    "ChildCancelled",
    "ChildStarted",
    "CommandRejected",
    "ExecutionCancelled",
    "ExecutionCompleted",
    "ExecutionEvent",
    "ExecutionEventBase",
    "ExecutionFailed",
    "ExecutionMigrated",
    "ExecutionQueued",
    "ExecutionResumed",
    "ExecutionStarted",
    "ExecutionStatus",
    "ExecutionTimedOut",
    "LoopIterationEnded",
    "LoopIterationStarted",
    "RetryScheduled",
    "ScopeOutcome",
    "SignalBuffered",
    "SignalConsumed",
    "SlotGranted",
    "SlotQueued",
    "SlotReleased",
    "SlotReturned",
    "StepCancelled",
    "StepCompleted",
    "StepEventBase",
    "StepFailed",
    "StepScheduled",
    "StepSkipped",
    "StepStarted",
    "TaskCancelled",
    "TaskRequested",
    "TimerCancelled",
    "TimerFired",
    "TimerPurpose",
    "TimerScheduled",
    "VariablesUpdated",
    "parse_event",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

ExecutionStatus = Literal[
    "pending", "running", "waiting", "completed", "failed", "cancelled", "timed_out", "queued"
]
"""Execution status. ``waiting`` means running with no task or child in flight; ``queued``
means waiting for a slot of its workflow's ``concurrency_limit`` (`schemas.gates`)."""

TimerPurpose = Literal["workflow_timeout", "step_timeout", "retry", "wait"]
"""Why a timer exists."""

ScopeOutcome = Literal["completed", "failed", "cancelled"]
"""How a loop iteration or a parallel branch ended."""


class StepEventBase(ExecutionEventBase):
    """Fields of every event about one step instance."""

    scope: str = ""
    step_id: str


class ExecutionStarted(ExecutionEventBase):
    """The execution exists; ``variables`` are the workflow's initial variables."""

    type: Literal["execution_started"] = "execution_started"
    workflow_id: str
    workflow_version: str
    input: dict[str, Any] = Field(default_factory=dict)
    variables: dict[str, Any] = Field(default_factory=dict)
    trigger_type: str = "manual"
    triggered_by: str | None = None
    trigger_event: dict[str, Any] | None = None
    parent_execution_id: str | None = None
    parent_step: str | None = None
    priority: Priority = "normal"


class StepScheduled(StepEventBase):
    """Control reached the step; its previous state (if any) is reset."""

    type: Literal["step_scheduled"] = "step_scheduled"
    step_type: str


class StepStarted(StepEventBase):
    """An attempt of the step began, with its rendered input (if it has one).

    Attributes:
        attempt: 1 for the first attempt, n for the n-th retry plus one.
        input: The rendered step ``input`` mapping, if the step has one.
        items: For a for-each loop, the list it iterates (evaluated once, here).
        waiting_for: For a wait step on a signal or event, what it waits for:
            ``{"signal": name}`` or ``{"event_type": pattern, "subject": str | None}``.
    """

    type: Literal["step_started"] = "step_started"
    attempt: int = Field(ge=1)
    input: Any = None
    items: list[Any] | None = None
    waiting_for: dict[str, Any] | None = None


class TaskRequested(StepEventBase):
    """Ask a worker to run an action (routed to ``hw.tasks``).

    Attributes:
        task_id: Deterministic id ``<execution_id>:t<seq>``; the answer must quote it.
        task_type: The step's ``action`` (``http``, ``publish``, ... or an external type).
        params: The rendered ``with`` mapping.
        input: The rendered step ``input`` mapping (``{}`` when the step has none).
        timeout: The step timeout in seconds, if any, so workers can give up early.
    """

    type: Literal["task_requested"] = "task_requested"
    task_id: str
    attempt: int = Field(ge=1)
    task_type: str
    params: Any = None
    input: Any = None
    timeout: float | None = None


class TaskCancelled(StepEventBase):
    """A requested task is no longer wanted; a late answer will be rejected."""

    type: Literal["task_cancelled"] = "task_cancelled"
    task_id: str
    reason: str = ""


class TimerScheduled(ExecutionEventBase):
    """A durable timer: the engine sends ``TimerFired`` at ``fire_at``."""

    type: Literal["timer_scheduled"] = "timer_scheduled"
    timer_id: str
    fire_at: UtcDatetime
    purpose: TimerPurpose
    scope: str = ""
    step_id: str | None = None


class TimerFired(ExecutionEventBase):
    """A timer fired and was consumed."""

    type: Literal["timer_fired"] = "timer_fired"
    timer_id: str
    purpose: TimerPurpose


class TimerCancelled(ExecutionEventBase):
    """A timer is no longer wanted; the timer service may drop it."""

    type: Literal["timer_cancelled"] = "timer_cancelled"
    timer_id: str


class RetryScheduled(StepEventBase):
    """Attempt ``attempt`` failed; attempt ``attempt + 1`` starts when ``timer_id`` fires."""

    type: Literal["retry_scheduled"] = "retry_scheduled"
    attempt: int = Field(ge=1)
    delay: float = Field(ge=0)
    timer_id: str
    error: ErrorInfo


class StepCompleted(StepEventBase):
    """The step finished; ``output`` is what ``steps.<id>.output`` reads."""

    type: Literal["step_completed"] = "step_completed"
    output: Any = None


class StepFailed(StepEventBase):
    """The step failed for good; ``handling`` says what the execution does about it."""

    type: Literal["step_failed"] = "step_failed"
    error: ErrorInfo
    handling: Literal["fail", "continue", "goto"] = "fail"
    goto: str | None = None


class StepSkipped(StepEventBase):
    """The step will not run (a branch not taken, or all its dependencies skipped)."""

    type: Literal["step_skipped"] = "step_skipped"
    reason: str = ""


class StepCancelled(StepEventBase):
    """The step was stopped before it finished."""

    type: Literal["step_cancelled"] = "step_cancelled"
    reason: str = ""


class ChildStarted(StepEventBase):
    """A subprocess step starts a child execution (the engine sends its start command)."""

    type: Literal["child_started"] = "child_started"
    child_execution_id: str
    workflow_id: str
    version: str = "*"
    input: dict[str, Any] = Field(default_factory=dict)
    wait: bool = True


class ChildCancelled(StepEventBase):
    """The parent no longer waits for a child; the engine sends the child a cancel."""

    type: Literal["child_cancelled"] = "child_cancelled"
    child_execution_id: str


class VariablesUpdated(ExecutionEventBase):
    """Workflow variables were merged with ``values`` (top-level keys replaced)."""

    type: Literal["variables_updated"] = "variables_updated"
    values: dict[str, Any]
    scope: str = ""
    step_id: str | None = None


class LoopIterationStarted(StepEventBase):
    """A loop step started iteration ``index`` (scope ``<step path>/<index>``)."""

    type: Literal["loop_iteration_started"] = "loop_iteration_started"
    index: int = Field(ge=0)
    item: Any = None


class LoopIterationEnded(StepEventBase):
    """Iteration ``index`` ended; ``output`` is the output of its last step."""

    type: Literal["loop_iteration_ended"] = "loop_iteration_ended"
    index: int = Field(ge=0)
    status: ScopeOutcome
    output: Any = None
    error: ErrorInfo | None = None


class BranchStarted(StepEventBase):
    """A parallel step started branch ``branch`` (scope ``<step path>/<branch>``)."""

    type: Literal["branch_started"] = "branch_started"
    branch: int = Field(ge=0)
    name: str


class BranchEnded(StepEventBase):
    """Branch ``branch`` reached the join; ``output`` is the output of its last step."""

    type: Literal["branch_ended"] = "branch_ended"
    branch: int = Field(ge=0)
    name: str
    status: ScopeOutcome
    output: Any = None
    error: ErrorInfo | None = None


class SignalBuffered(ExecutionEventBase):
    """A signal arrived before any wait step asked for it; kept for the first that does."""

    type: Literal["signal_buffered"] = "signal_buffered"
    name: str
    payload: Any = None


class SignalConsumed(StepEventBase):
    """A wait step took the oldest buffered signal called ``name``."""

    type: Literal["signal_consumed"] = "signal_consumed"
    name: str


class ExecutionResumed(ExecutionEventBase):
    """An operator retried a failed execution; the failed steps run again."""

    type: Literal["execution_resumed"] = "execution_resumed"
    requested_by: str | None = None


class ExecutionCompleted(ExecutionEventBase):
    """The execution finished; ``output`` is the rendered ``outputs`` mapping."""

    type: Literal["execution_completed"] = "execution_completed"
    output: Any = None
    parent_execution_id: str | None = None
    parent_step: str | None = None


class ExecutionFailed(ExecutionEventBase):
    """The execution failed; ``scope``/``step_id`` name the step that failed it, if any."""

    type: Literal["execution_failed"] = "execution_failed"
    error: ErrorInfo
    scope: str = ""
    step_id: str | None = None
    parent_execution_id: str | None = None
    parent_step: str | None = None


class ExecutionCancelled(ExecutionEventBase):
    """The execution was cancelled."""

    type: Literal["execution_cancelled"] = "execution_cancelled"
    reason: str = ""
    parent_execution_id: str | None = None
    parent_step: str | None = None


class ExecutionTimedOut(ExecutionEventBase):
    """The workflow timeout elapsed (or a timeout command arrived)."""

    type: Literal["execution_timed_out"] = "execution_timed_out"
    reason: str = ""
    parent_execution_id: str | None = None
    parent_step: str | None = None


class CommandRejected(ExecutionEventBase):
    """A command did not apply; nothing else changed.

    Attributes:
        command_type: The rejected command's ``type``.
        code: Why, e.g. ``unknown_task``, ``execution_finished``, ``not_failed``.
        message: Human-readable explanation.
    """

    type: Literal["command_rejected"] = "command_rejected"
    command_type: str
    code: str
    message: str = ""


class ExecutionMigrated(ExecutionEventBase):
    """The execution now follows another version of its workflow (a `migrate_execution`).

    Everything it held (variables, step outputs, open tasks, timers with their due times,
    waits, buffered signals) stays; step ids are renamed by ``mapping`` wherever the state
    names them (steps, scopes, tasks, children, timers), so a replay needs no definition.

    Attributes:
        from_version: The version it ran until now.
        to_version: The version it runs from this event on.
        mapping: Step id in ``from_version`` -> step id in ``to_version`` (ids not named
            keep their id).
        requested_by: Who asked.
    """

    type: Literal["execution_migrated"] = "execution_migrated"
    from_version: str
    to_version: str
    mapping: dict[str, str] = Field(default_factory=dict)
    requested_by: str | None = None


ExecutionEvent = Annotated[
    ExecutionStarted
    | StepScheduled
    | StepStarted
    | TaskRequested
    | TaskCancelled
    | TimerScheduled
    | TimerFired
    | TimerCancelled
    | RetryScheduled
    | StepCompleted
    | StepFailed
    | StepSkipped
    | StepCancelled
    | ChildStarted
    | ChildCancelled
    | VariablesUpdated
    | LoopIterationStarted
    | LoopIterationEnded
    | BranchStarted
    | BranchEnded
    | SignalBuffered
    | SignalConsumed
    | ExecutionResumed
    | ExecutionCompleted
    | ExecutionFailed
    | ExecutionCancelled
    | ExecutionTimedOut
    | CommandRejected
    | ExecutionQueued
    | SlotReturned
    | SlotQueued
    | SlotGranted
    | SlotReleased
    | ExecutionMigrated,
    Field(discriminator="type"),
]
"""Any execution event, discriminated by its ``type`` field."""

EVENT_TYPES: tuple[type[ExecutionEventBase], ...] = (
    ExecutionStarted,
    StepScheduled,
    StepStarted,
    TaskRequested,
    TaskCancelled,
    TimerScheduled,
    TimerFired,
    TimerCancelled,
    RetryScheduled,
    StepCompleted,
    StepFailed,
    StepSkipped,
    StepCancelled,
    ChildStarted,
    ChildCancelled,
    VariablesUpdated,
    LoopIterationStarted,
    LoopIterationEnded,
    BranchStarted,
    BranchEnded,
    SignalBuffered,
    SignalConsumed,
    ExecutionResumed,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionCancelled,
    ExecutionTimedOut,
    CommandRejected,
    ExecutionQueued,
    SlotReturned,
    SlotQueued,
    SlotGranted,
    SlotReleased,
    ExecutionMigrated,
)

TERMINAL_EVENT_TYPES: frozenset[str] = frozenset(
    {"execution_completed", "execution_failed", "execution_cancelled", "execution_timed_out"}
)
"""``type`` values of the events that end an execution."""

_EVENT_ADAPTER: TypeAdapter[ExecutionEvent] = TypeAdapter(ExecutionEvent)


def parse_event(data: Any) -> ExecutionEvent:
    """Validate a dict (or JSON bytes/str) into the matching execution event model.

    Args:
        data: A mapping with a ``type`` field, or its JSON text.

    Returns:
        The event model.

    Raises:
        pydantic.ValidationError: If the data is not a valid execution event.
    """
    if isinstance(data, str | bytes):
        return _EVENT_ADAPTER.validate_json(data)
    return _EVENT_ADAPTER.validate_python(data)
