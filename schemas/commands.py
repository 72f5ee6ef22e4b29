"""Commands: the only way anything asks a workflow execution to move.

Commands travel on ``hw.commands`` keyed by execution id. Each carries its own
``command_id`` (idempotency key: the state machine ignores a command id it has
already applied) and the ``time`` at which it was issued, which is the only
clock the state machine ever sees. Free-form payloads are plain JSON values so
the Avro mirror stays simple.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "COMMAND_TYPES",
    "GATE_PREFIX",
    "AcquireSlot",
    "CancelExecution",
    "ChildCompleted",
    "ChildFailed",
    "Command",
    "CommandBase",
    "ErrorInfo",
    "EventReceived",
    "GrantSlot",
    "MigrateExecution",
    "ReleaseSlot",
    "RetryExecution",
    "SignalReceived",
    "StartExecution",
    "TaskCompleted",
    "TaskFailed",
    "TimeoutExecution",
    "TimerFired",
    "UtcDatetime",
    "parse_command",
]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime, normalised to UTC (naive datetimes are refused)."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ErrorInfo(BaseModel):
    """What went wrong, in a form that survives JSON and Avro.

    Attributes:
        code: Machine-readable error code, e.g. ``"timeout"``, ``"http_500"``.
        message: Human-readable explanation.
        retryable: False when retrying cannot help; the retry policy is then skipped.
        details: Free-form JSON with anything else worth keeping.
    """

    model_config = _FROZEN

    code: str
    message: str = ""
    retryable: bool = True
    details: dict[str, Any] = Field(default_factory=dict)


Priority = Literal["low", "normal", "high", "critical"]
"""An execution's priority: where executions wait their turn (a workflow's concurrency gate),
a higher one goes first; first come, first served within one priority."""

PRIORITY_RANK: dict[str, int] = {"low": 0, "normal": 1, "high": 2, "critical": 3}


class CommandBase(BaseModel):
    """Fields every command carries.

    Attributes:
        command_id: Idempotency key; a command id already applied is a no-op.
        execution_id: The execution this command is addressed to (the Kafka key).
        time: When the command was issued; the state machine's only clock.
    """

    model_config = _FROZEN

    command_id: str = Field(min_length=1)
    execution_id: str = Field(min_length=1)
    time: UtcDatetime


class StartExecution(CommandBase):
    """Start a new execution of a workflow definition.

    Attributes:
        workflow_id: Definition id.
        version: The exact definition version resolved by whoever starts it, or None
            to accept whichever version the engine passes in.
        input: The execution input (``input`` in expressions).
        trigger_type: ``manual``, ``api``, ``webhook``, ``event``, ``schedule``,
            ``rule`` or ``subprocess``.
        triggered_by: Who or what started it (user, rule id, parent execution id).
        trigger_event: The triggering CloudEvent as a dict (``event`` in expressions).
        parent_execution_id: Set when this is a subprocess child.
        parent_step: The parent's step path (``scope/step_id``) waiting for this child.
        priority: Its turn where executions wait for a slot (``low`` to ``critical``).
    """

    type: Literal["start_execution"] = "start_execution"
    workflow_id: str
    version: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)
    trigger_type: str = "manual"
    triggered_by: str | None = None
    trigger_event: dict[str, Any] | None = None
    parent_execution_id: str | None = None
    parent_step: str | None = None
    priority: Priority = "normal"


class TaskCompleted(CommandBase):
    """A worker finished a task successfully."""

    type: Literal["task_completed"] = "task_completed"
    task_id: str
    output: Any = None


class TaskFailed(CommandBase):
    """A worker gave up on a task (one attempt); the retry policy decides what next."""

    type: Literal["task_failed"] = "task_failed"
    task_id: str
    error: ErrorInfo


class TimerFired(CommandBase):
    """A durable timer reached its ``fire_at`` (sent by the partition's timer service)."""

    type: Literal["timer_fired"] = "timer_fired"
    timer_id: str


class SignalReceived(CommandBase):
    """A named signal for the execution (buffered if no wait step expects it yet).

    Attributes:
        name: The signal's name (a wait step's ``signal``).
        payload: Its data, as JSON.
        sent_by_rule: The rule whose ``signal_execution`` action sent it, if one did: the
            engine checks that the rule's owner may reach the execution's workflow.
    """

    type: Literal["signal_received"] = "signal_received"
    name: str
    payload: Any = None
    sent_by_rule: str | None = None


class EventReceived(CommandBase):
    """A trigger event routed to this execution for a ``wait: {event: ...}`` step.

    Attributes:
        event: The CloudEvent as a dict (id, source, type, subject, time, data).
    """

    type: Literal["event_received"] = "event_received"
    event: dict[str, Any]


class ChildCompleted(CommandBase):
    """A subprocess child execution completed."""

    type: Literal["child_completed"] = "child_completed"
    child_execution_id: str
    output: Any = None


class ChildFailed(CommandBase):
    """A subprocess child execution failed, was cancelled or timed out."""

    type: Literal["child_failed"] = "child_failed"
    child_execution_id: str
    error: ErrorInfo


class CancelExecution(CommandBase):
    """Cancel the execution (operator, parent, or API)."""

    type: Literal["cancel_execution"] = "cancel_execution"
    reason: str = ""
    requested_by: str | None = None


class RetryExecution(CommandBase):
    """Operator command: resume a failed execution from the step that failed."""

    type: Literal["retry_execution"] = "retry_execution"
    requested_by: str | None = None


class TimeoutExecution(CommandBase):
    """Time the execution out now (e.g. an operator or a supervisor enforcing a deadline)."""

    type: Literal["timeout_execution"] = "timeout_execution"
    reason: str = ""


GATE_PREFIX = "gate:"
"""Execution ids starting with this address a workflow's concurrency gate, not an execution."""


class AcquireSlot(CommandBase):
    """Ask a workflow's gate (``execution_id`` ``gate:<workflow id>``) for a running slot.

    Attributes:
        holder: The execution that waits for the slot.
        ticket: This acquisition's id (``<holder>:slot<seq>``); the release quotes it.
        limit: The ``concurrency_limit`` of the version the holder runs.
    """

    type: Literal["acquire_slot"] = "acquire_slot"
    holder: str = Field(min_length=1)
    ticket: str = Field(min_length=1)
    limit: int = Field(ge=1, le=100_000)
    priority: Priority = "normal"


class ReleaseSlot(CommandBase):
    """Give a slot back to the gate (the holder ended) or leave its queue (cancelled there)."""

    type: Literal["release_slot"] = "release_slot"
    holder: str = Field(min_length=1)
    ticket: str = Field(min_length=1)


class GrantSlot(CommandBase):
    """The gate admitted ``ticket``: the queued execution may start (or resume)."""

    type: Literal["grant_slot"] = "grant_slot"
    gate_id: str = Field(min_length=1)
    ticket: str = Field(min_length=1)


class MigrateExecution(CommandBase):
    """Move a running, waiting or queued execution to another version of its workflow.

    Like Camunda's process instance migration: the execution keeps its history, variables,
    open tasks, timers and waits; from now on it follows ``to_version``. The state machine
    refuses (``command_rejected``, code ``migration_refused``, every reason in the message)
    when the state does not map cleanly (see docs/state-machine.md, "Migration").

    Attributes:
        to_version: The exact target version of the same workflow.
        mapping: Step id in the running version -> step id in the target; a step id not
            named maps to the same id.
        requested_by: Who asked (the API caller).
    """

    type: Literal["migrate_execution"] = "migrate_execution"
    to_version: str = Field(min_length=1)
    mapping: dict[str, str] = Field(default_factory=dict)
    requested_by: str | None = None


Command = Annotated[
    StartExecution
    | TaskCompleted
    | TaskFailed
    | TimerFired
    | SignalReceived
    | EventReceived
    | ChildCompleted
    | ChildFailed
    | CancelExecution
    | RetryExecution
    | TimeoutExecution
    | AcquireSlot
    | ReleaseSlot
    | GrantSlot
    | MigrateExecution,
    Field(discriminator="type"),
]
"""Any command, discriminated by its ``type`` field."""

COMMAND_TYPES: tuple[type[CommandBase], ...] = (
    StartExecution,
    TaskCompleted,
    TaskFailed,
    TimerFired,
    SignalReceived,
    EventReceived,
    ChildCompleted,
    ChildFailed,
    CancelExecution,
    RetryExecution,
    TimeoutExecution,
    AcquireSlot,
    ReleaseSlot,
    GrantSlot,
    MigrateExecution,
)

_COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)


def parse_command(data: Any) -> Command:
    """Validate a dict (or JSON bytes/str) into the matching command model.

    Args:
        data: A mapping with a ``type`` field, or its JSON text.

    Returns:
        The command model.

    Raises:
        pydantic.ValidationError: If the data is not a valid command.
    """
    if isinstance(data, str | bytes):
        return _COMMAND_ADAPTER.validate_json(data)
    return _COMMAND_ADAPTER.validate_python(data)
