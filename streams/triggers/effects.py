"""What a rule firing, a workflow event trigger or a schedule asks of the engine: records.

Pure: no Kafka, no clock. Every id is derived from who fired (a rule or workflow id) and the
occasion (the trigger event's source and id, an absence timer, a scheduled fire time), never
drawn at random, so a redelivered trigger or a timer fired twice produces the same records
with the same ids, and the execution processor applies a start or a signal once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from rules import RenderedAction
from schemas.commands import SignalReceived, StartExecution
from schemas.definitions import WorkflowDefinition
from schemas.triggers import TriggerEvent
from streams.runtime.outgoing import Outgoing

__all__ = [
    "DEPTH_EXTENSION",
    "MAX_DEPTH",
    "WEBHOOK_WORKFLOW",
    "Occasion",
    "action_records",
    "action_ref",
    "digest",
    "occasion_of",
    "webhook_workflow",
]

WEBHOOK_WORKFLOW = "headwater.webhook"
"""The built-in one-step workflow that runs a rule's `call_webhook` action."""

DEPTH_EXTENSION = "hwdepth"
"""The CloudEvents extension counting how many rule-published events led to this one."""

MAX_DEPTH = 8
"""A trigger deeper than this is refused: rules publishing events that fire them loop."""


@dataclass(frozen=True, slots=True)
class Occasion:
    """Who fired and on what occasion; the ids of everything produced derive from it.

    Attributes:
        owner: The rule id, or the workflow id for a workflow's own trigger.
        tag: A stable digest of the occasion (event, timer or fire time).
        time: When, as the commands' clock (the event's time or the timer's due time).
        event: The trigger event as JSON (``event`` in expressions), if there is one.
        trigger_type: ``rule``, ``event`` or ``schedule``, for `StartExecution`.
        depth: The incoming event's depth (published events get one more).
    """

    owner: str
    tag: str
    time: datetime
    event: Mapping[str, Any] | None = None
    trigger_type: str = "rule"
    depth: int = 0

    def id(self, position: int) -> str:
        """The id of the record made by the action at `position`."""
        return f"{self.owner}:{self.tag}:{position}"


def digest(*parts: str) -> str:
    """A short, stable digest of text parts (collision-safe for ids: 80 bits)."""
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:20]


def occasion_of(owner: str, event: Mapping[str, Any], time: datetime,
                trigger_type: str = "rule") -> Occasion:
    """The occasion of a firing caused by `event` (CloudEvents: source and id identify it)."""
    depth = event.get(DEPTH_EXTENSION, 0)
    return Occasion(owner, digest(str(event.get("source", "")), str(event.get("id", ""))), time,
                    event, trigger_type, depth if isinstance(depth, int) else 0)


def action_records(occasion: Occasion, actions: Iterable[RenderedAction]) -> list[Outgoing]:
    """The records that rendered actions produce, in the actions' order."""
    out: list[Outgoing] = []
    for action in actions:
        params = action.params
        if action.type == "start_workflow":
            out.append(_start(occasion, action.position, str(params["workflow_id"]),
                              _version(params.get("version")), params.get("input"),
                              params.get("priority") or "normal"))
        elif action.type == "call_webhook":
            request = {k: params.get(k) for k in ("url", "method", "headers", "body")}
            out.append(_start(occasion, action.position, WEBHOOK_WORKFLOW, None, request))
        elif action.type == "signal_execution":
            out.append(_signal(occasion, action.position, params))
        elif action.type == "publish_event":
            out.append(_publish(occasion, action.position, params))
    return out


def action_ref(occasion: Occasion, action_type: str, position: int) -> str:
    """The id of the record an action makes: what its end is joined to in the views."""
    record_id = occasion.id(position)
    return f"{record_id}:signal" if action_type == "signal_execution" else record_id


def _version(version: object) -> str | None:
    return None if version in (None, "*") else str(version)


def _start(occasion: Occasion, position: int, workflow_id: str, version: str | None,
           data: object, priority: str = "normal") -> Outgoing:
    execution_id = occasion.id(position)
    command = StartExecution(
        command_id=f"{execution_id}:start", execution_id=execution_id, time=occasion.time,
        workflow_id=workflow_id, version=version, input=_as_input(data),
        trigger_type=occasion.trigger_type, triggered_by=occasion.owner,
        trigger_event=dict(occasion.event) if occasion.event is not None else None,
        priority=priority)  # type: ignore[arg-type]
    return Outgoing("commands", execution_id, command)


def _as_input(data: object) -> dict[str, Any]:
    # An execution's input is an object; other event data is kept under `value`.
    if data is None:
        return {}
    return dict(data) if isinstance(data, Mapping) else {"value": data}


def _signal(occasion: Occasion, position: int, params: Mapping[str, Any]) -> Outgoing:
    execution_id = str(params["execution_id"])
    command = SignalReceived(command_id=action_ref(occasion, "signal_execution", position),
                             execution_id=execution_id, time=occasion.time,
                             name=str(params["signal"]), payload=params.get("payload"),
                             sent_by_rule=occasion.owner if occasion.trigger_type == "rule" else None)
    return Outgoing("commands", execution_id, command)


def _publish(occasion: Occasion, position: int, params: Mapping[str, Any]) -> Outgoing:
    subject = params.get("subject")
    data: JsonValue = params.get("data")
    event = TriggerEvent(
        id=occasion.id(position), source=str(params.get("source") or "headwater/rules"),
        type=str(params["event_type"]), subject=str(subject) if subject else None,
        time=occasion.time, data=data, datacontenttype="application/json",
        extensions={DEPTH_EXTENSION: occasion.depth + 1})
    return Outgoing("triggers", event.key or "", event)


def webhook_workflow() -> WorkflowDefinition:
    """The built-in workflow that `call_webhook` starts: one `http` step, retried.

    A webhook call is an execution so that it is durable (a crash does not lose it), retried
    with backoff, guarded against SSRF, sent with an idempotency key, and visible in the views
    like any other step, with no machinery of its own.
    """
    return WorkflowDefinition.model_validate({
        "id": WEBHOOK_WORKFLOW, "name": "Rule webhook call", "version": "1.0.0",
        "description": "Runs the call_webhook action of automation rules.",
        "steps": [{
            "id": "call", "action": "http",
            "with": {"url": "${ input.url }", "method": "${ input.method }",
                     "headers": "${ input.headers }", "body": "${ input.body }"},
            "retry": {"max_attempts": 5, "backoff": "exponential", "initial_interval": 1.0,
                      "max_interval": 60.0, "jitter": 0.2},
        }],
        "outputs": "${ steps.call.output }",
    })
