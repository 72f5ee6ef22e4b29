"""Task events on ``hw.tasks``: a step action for a built-in or external worker to run.

Keyed by execution id. A worker answers with a ``TaskCompleted`` or ``TaskFailed`` command on
``hw.commands`` carrying the same ``task_id``; ``idempotency_key`` lets the worker's side
effects survive redelivery (the same key for every redelivery of one attempt).

This is the worker-facing form of the execution history's ``executions.TaskRequested``
(``TaskRequested.from_execution_event``): what a worker in any language needs, with an
absolute deadline instead of the engine's internals.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas import executions
from schemas.avro import UtcDatetime

__all__ = ["TASK_EVENT_TYPES", "TaskRequested"]


class TaskRequested(BaseModel):
    """The engine asks a worker to run one attempt of a step's action.

    Attributes:
        execution_id: The execution the task belongs to (the Kafka key).
        seq: The sequence number of the execution event that scheduled this task.
        task_id: Unique per attempt; echoed back in the answering command.
        step_id: The step's id.
        scope: The step's scope (``""`` at the top level, e.g. ``"each_order/3"`` in a loop).
        attempt: 1 for the first attempt, then 2, 3, ... per retry.
        task_type: ``http``, ``publish``, ``transform``, ``log``, ``delay`` or an external
            worker's task type; workers filter on it.
        params: The rendered ``with`` mapping of the action, as JSON.
        input: The rendered step ``input`` mapping, as JSON.
        idempotency_key: One per step instance: the same for every redelivery and every
            retry attempt of the step (so the far side can recognise a retried request),
            different for another step, loop iteration or execution.
        deadline: When the engine stops waiting for an answer, if the step has a timeout.
        requested_at: When the engine requested it.
        workflow_id: The workflow definition id, for routing and metrics.
        workflow_version: The workflow definition version.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["task_requested"] = "task_requested"
    execution_id: str = Field(min_length=1)
    seq: int = Field(ge=0)
    task_id: str = Field(min_length=1)
    step_id: str = Field(min_length=1)
    scope: str = ""
    attempt: int = Field(default=1, ge=1)
    task_type: str = Field(min_length=1)
    params: Any = None
    input: Any = None
    idempotency_key: str = Field(min_length=1)
    deadline: UtcDatetime | None = None
    requested_at: UtcDatetime
    workflow_id: str = ""
    workflow_version: str = ""

    @classmethod
    def from_execution_event(
        cls, event: executions.TaskRequested, *, workflow_id: str = "", workflow_version: str = ""
    ) -> TaskRequested:
        """The task for workers that an execution's ``TaskRequested`` event asks for.

        The task id is per attempt; the idempotency key is per step instance
        (`idempotency_key`); the deadline is the event time plus the step timeout.
        """
        deadline = event.time + timedelta(seconds=event.timeout) if event.timeout else None
        return cls(
            execution_id=event.execution_id,
            seq=event.seq,
            task_id=event.task_id,
            step_id=event.step_id,
            scope=event.scope,
            attempt=event.attempt,
            task_type=event.task_type,
            params=event.params,
            input=event.input,
            idempotency_key=idempotency_key(event.execution_id, event.scope, event.step_id),
            deadline=deadline,
            requested_at=event.time,
            workflow_id=workflow_id,
            workflow_version=workflow_version,
        )


def idempotency_key(execution_id: str, scope: str, step_id: str) -> str:
    """The key of one step instance: `<execution>:<scope>/<step>` (`<execution>:<step>` at
    the top level). A step runs once per scope instance (a loop iteration or a branch is a
    scope of its own), and its retries keep the key, which is the point of the key."""
    return f"{execution_id}:{scope}/{step_id}" if scope else f"{execution_id}:{step_id}"


TASK_EVENT_TYPES: tuple[type[BaseModel], ...] = (TaskRequested,)
