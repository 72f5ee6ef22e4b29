"""Events of workflow concurrency limits, on ``hw.executions`` (see docs/engine.md, "Gates").

A workflow with ``concurrency_limit`` has one gate aggregate, ``gate:<workflow id>``, on the
same topics as executions (so one owner at a time and a history like any execution's). Its
events are `SlotQueued`, `SlotGranted` and `SlotReleased`; an execution's own events about
its slot are `ExecutionQueued` and `SlotReturned`. Released events are facts: fields are only
ever added, and only as optional.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas._event_base import ExecutionEventBase
from schemas.commands import Priority

__all__ = [
    "GATE_EVENT_TYPES",
    "ExecutionQueued",
    "SlotGranted",
    "SlotQueued",
    "SlotReleased",
    "SlotReturned",
]


class ExecutionQueued(ExecutionEventBase):
    """The workflow's ``concurrency_limit`` applies: the execution waits for a slot.

    The first event of a limited execution (``execution_started`` follows once the gate
    grants the slot), or the answer to a retry of one (``execution_resumed`` follows).

    Attributes:
        gate_id: The gate asked for a slot (``gate:<workflow id>``).
        ticket: This acquisition's id; the grant and the release quote it.
        limit: The ``concurrency_limit`` of the version this execution runs.
    """

    type: Literal["execution_queued"] = "execution_queued"
    workflow_id: str
    workflow_version: str
    input: dict[str, Any] = Field(default_factory=dict)
    trigger_type: str = "manual"
    triggered_by: str | None = None
    trigger_event: dict[str, Any] | None = None
    parent_execution_id: str | None = None
    parent_step: str | None = None
    gate_id: str
    ticket: str
    limit: int = Field(ge=1)
    priority: Priority = "normal"


class SlotReturned(ExecutionEventBase):
    """The execution was granted a slot it does not wait for (it ended, or the grant is
    stale): it gives the slot back to the gate."""

    type: Literal["slot_returned"] = "slot_returned"
    gate_id: str
    ticket: str
    reason: str = ""


class SlotQueued(ExecutionEventBase):
    """Gate event (``execution_id`` is the gate's): ``holder`` waits (by priority, then first in
    first out)."""

    type: Literal["slot_queued"] = "slot_queued"
    ticket: str
    holder: str
    limit: int = Field(ge=1)
    priority: Priority = "normal"


class SlotGranted(ExecutionEventBase):
    """Gate event: ``holder`` runs under ``ticket``, one of ``limit`` slots."""

    type: Literal["slot_granted"] = "slot_granted"
    ticket: str
    holder: str
    limit: int = Field(ge=1)


class SlotReleased(ExecutionEventBase):
    """Gate event: ``ticket`` no longer runs (``was="running"``) or waits (``"queued"``)."""

    type: Literal["slot_released"] = "slot_released"
    ticket: str
    holder: str
    was: Literal["running", "queued"] = "running"


GATE_EVENT_TYPES: frozenset[str] = frozenset({"slot_queued", "slot_granted", "slot_released"})
"""``type`` values of a gate's own events (readers of executions may skip them)."""
