"""Rule firings and how their actions ended: the outcome joined to what the actions did.

A `RuleMatched` outcome is written when the actions are *sent*; each action names what it
produced (`ActionResult.ref`: the execution id of `start_workflow` and `call_webhook`, the
command id of `signal_execution`, the event id of `publish_event`). The end comes later, on
``hw.executions``: the execution's terminal event, or the signal buffered, consumed or
rejected. Either side may be folded first (different topics), so each leaves a note for the
other: ``rfj/<ref>`` (a firing waits for this end) and ``rfe/<ref>`` (this end waits for its
firing). Every step is idempotent and the counters only add, so a rebuild in any partition
interleaving equals the live view.

A published event ends with the outcome itself: the trigger agent produces the event and the
outcome in one cycle and commits only after both are acknowledged.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from projections.views._tx import Reader, Tx, time_key
from projections.views.rule_stats import count_actions
from schemas.executions import (
    CommandRejected,
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionEventBase,
    ExecutionFailed,
    ExecutionTimedOut,
    SignalBuffered,
    SignalConsumed,
)
from schemas.outcomes import RuleMatched

__all__ = ["ActionEnd", "ActionView", "FiringView", "apply_action_end", "apply_firing",
           "end_of", "firing_prefix", "read_firing", "result_prefix"]

Status = Literal["pending", "succeeded", "failed"]

# Only the trigger agent derives ids of this form (`streams.triggers.effects.Occasion.id`).
_RULE_REF = re.compile(r"^[^:]+:[0-9a-f]{20}:\d+(?::signal)?$")
_HTTP_CODE = re.compile(r"^http_(\d{3})$")


class ActionEnd(BaseModel):
    """How one action ended."""

    status: Literal["succeeded", "failed"]
    at: datetime
    code: str | None = None
    message: str = ""
    http_status: int | None = None


class ActionView(BaseModel):
    """One action of a firing: what it produced and, once known, how it ended."""

    index: int
    action_type: str
    ref: str | None = None
    status: Status = "pending"
    ended_at: datetime | None = None
    duration_ms: float | None = None
    code: str | None = None
    message: str = ""
    http_status: int | None = None


class FiringView(BaseModel):
    """One firing of a rule (a `RuleMatched` outcome with actions)."""

    rule_id: str
    rule_version: str
    event_id: str
    event_type: str = ""
    evaluated_at: datetime
    condition_result: Any = None
    actions: list[ActionView]

    @property
    def result(self) -> Status:
        """failed once any action failed, succeeded once all did, pending until then."""
        statuses = {a.status for a in self.actions}
        if "failed" in statuses:
            return "failed"
        return "pending" if "pending" in statuses else "succeeded"


def firing_prefix(rule_id: str) -> str:
    """The prefix of a rule's firings, newest first in key order."""
    return f"rf/{rule_id}/"


def result_prefix(rule_id: str, result: str) -> str:
    """The prefix of the index of a rule's firings by result."""
    return f"rfr/{rule_id}/{result}/"


def _order(firing: FiringView) -> str:
    # Newest first in scan order: the time's characters complemented.
    stamp = time_key(firing.evaluated_at)
    return "".join(chr(ord("9") - ord(c) + ord("0")) if c.isdigit() else c for c in stamp)


def _key(firing: FiringView) -> str:
    return f"{firing_prefix(firing.rule_id)}{_order(firing)}/{firing.event_id}"


def _index_key(firing: FiringView, result: str) -> str:
    return f"{result_prefix(firing.rule_id, result)}{_order(firing)}/{firing.event_id}"


class _Link(BaseModel):
    key: str
    index: int


def apply_firing(tx: Tx, outcome: RuleMatched) -> FiringView | None:
    """Record a new (not redelivered) firing; ends already folded apply at once.

    Returns:
        The firing as stored, or None for a deferred match (no actions yet).
    """
    if not outcome.actions:
        return None
    firing = FiringView(
        rule_id=outcome.rule_id, rule_version=outcome.rule_version, event_id=outcome.event_id,
        event_type=outcome.event_type, evaluated_at=outcome.evaluated_at,
        condition_result=outcome.condition_result,
        actions=[ActionView(index=a.index, action_type=a.action_type, ref=a.ref)
                 for a in outcome.actions])
    key = _key(firing)
    ends: dict[int, ActionEnd] = {}
    for position, (action, sent) in enumerate(zip(firing.actions, outcome.actions, strict=True)):
        if sent.status != "queued":  # ended within the evaluation (counted by rule_stats)
            ends[position] = ActionEnd(status=sent.status, at=outcome.evaluated_at,
                                       message=sent.error or "")
            continue
        if action.action_type == "publish_event" or action.ref is None:
            # Acknowledged with the outcome (before refs existed, nothing could be joined).
            ends[position] = ActionEnd(status="succeeded", at=outcome.evaluated_at)
            continue
        early = tx.load(f"rfe/{action.ref}", ActionEnd)
        if early is not None:
            tx.delete(f"rfe/{action.ref}")
            ends[position] = early
        else:
            tx.save(f"rfj/{action.ref}", _Link(key=key, index=position))
    count_actions(tx, outcome.rule_id, fired=1, pending=len(firing.actions))
    tx.save(key, firing)
    tx.put(_index_key(firing, "pending"), b"")
    for position, end in ends.items():
        firing = _end(tx, key, firing, position, end, counted=outcome.actions[position].status
                      != "queued")
    return firing


def end_of(event: ExecutionEventBase) -> tuple[str, ActionEnd] | None:
    """The action end an execution event tells, by the ref it joins to (or None)."""
    if isinstance(event, SignalBuffered | SignalConsumed | CommandRejected):
        if not _RULE_REF.match(event.command_id) or not event.command_id.endswith(":signal"):
            return None
        if isinstance(event, CommandRejected):
            return event.command_id, ActionEnd(status="failed", at=event.time, code=event.code,
                                               message=event.message)
        return event.command_id, ActionEnd(status="succeeded", at=event.time)
    if not _RULE_REF.match(event.execution_id):
        return None
    if isinstance(event, ExecutionCompleted):
        output = event.output if isinstance(event.output, dict) else {}
        status = output.get("status")
        return event.execution_id, ActionEnd(
            status="succeeded", at=event.time,
            http_status=status if isinstance(status, int) else None)
    if isinstance(event, ExecutionFailed):
        http = _HTTP_CODE.match(event.error.code)
        return event.execution_id, ActionEnd(
            status="failed", at=event.time, code=event.error.code,
            message=event.error.message[:500], http_status=int(http[1]) if http else None)
    if isinstance(event, ExecutionCancelled | ExecutionTimedOut):
        return event.execution_id, ActionEnd(status="failed", at=event.time, code=event.type,
                                             message=event.reason[:500])
    return None


def apply_action_end(tx: Tx, ref: str, end: ActionEnd) -> bool:
    """Fold an action's end into its firing, or keep it until the firing is folded."""
    link = tx.load(f"rfj/{ref}", _Link)
    if link is None:
        if not tx.exists(f"rfe/{ref}"):  # the first end counts (a signal: buffered, then consumed)
            tx.save(f"rfe/{ref}", end)
        return True
    firing = tx.load(link.key, FiringView)
    tx.delete(f"rfj/{ref}")
    if firing is None:
        return False
    _end(tx, link.key, firing, link.index, end)
    return True


def _end(tx: Tx, key: str, firing: FiringView, position: int, end: ActionEnd, *,
         counted: bool = False) -> FiringView:
    """End one action; `counted`: its failure is in the rule's errors already."""
    action = firing.actions[position]
    if action.status != "pending":
        return firing
    before = firing.result
    duration = max((end.at - firing.evaluated_at).total_seconds() * 1000, 0.0)
    actions = list(firing.actions)
    actions[position] = action.model_copy(update={
        "status": end.status, "ended_at": end.at, "duration_ms": duration, "code": end.code,
        "message": end.message, "http_status": end.http_status})
    firing = firing.model_copy(update={"actions": actions})
    tx.save(key, firing)
    after = firing.result
    if after != before:
        tx.delete(_index_key(firing, before))
        tx.put(_index_key(firing, after), b"")
    count_actions(tx, firing.rule_id, pending=-1, succeeded=end.status == "succeeded",
          failed=end.status == "failed", duration_ms=duration,
          firing_result=after if after != before else None, counted=counted,
          error=(action.action_type, end, firing.event_id) if end.status == "failed" else None)
    return firing


def read_firing(reader: Reader, key: str) -> FiringView | None:
    """One firing by its key."""
    data = reader.get(key)
    return None if data is None else FiringView.model_validate_json(data)
