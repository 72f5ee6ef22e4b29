"""The records of rule gates on `hw.triggers`: a routed firing, an ended execution, a flush.

A gated rule's matches (`rules.routing`) travel to the one owner of the rule's gate key as
`headwater.rule.firing` records keyed by that key, so they land on one partition in one order;
the ends of the executions they started come back as `headwater.rule.ended`, and a due batch
window as `headwater.rule.flush`, on the same key. The gate's state is a fold of these records
alone (the limits ride on the firing, as a workflow gate's limit rides on its acquire), so
whoever replays the partition rebuilds exactly what the owner decided. Like `headwater.wait.*`,
no rule sees them. Pure: pydantic models and builders, no Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.commands import PRIORITY_RANK
from schemas.definitions import RuleDefinition
from schemas.triggers import TriggerEvent

__all__ = [
    "ENDED",
    "FIRING",
    "FLUSH",
    "GATE_PREFIX",
    "SNAPSHOT",
    "Ended",
    "Entry",
    "Flush",
    "GateRecord",
    "InvalidGateRecord",
    "Limits",
    "Request",
    "Snapshot",
    "ended_event",
    "flush_event",
    "limits_of",
    "parse",
    "priority_of",
    "request_event",
    "snapshot_event",
    "starts_of",
]

GATE_PREFIX = "headwater.rule."
FIRING = "headwater.rule.firing"
ENDED = "headwater.rule.ended"
FLUSH = "headwater.rule.flush"
SNAPSHOT = "headwater.rule.snapshot"
_SOURCE = "/headwater/rules"
_STARTING = frozenset({"start_workflow", "call_webhook"})


class InvalidGateRecord(ValueError):
    """A `headwater.rule.*` record that is not one (its message names the field)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limits(_Frozen):
    """A gated rule's limits, as the worker that matched it read them."""

    max_executions: int | None = Field(default=None, ge=1)
    concurrency_limit: int | None = Field(default=None, ge=1)
    mode: str = "immediate"
    batch_size: int = Field(default=10, ge=1)
    batch_window: float = Field(default=60.0, gt=0)


class Entry(_Frozen):
    """One candidate of a routed firing (`rules.Candidate` with what the owner needs)."""

    rule_id: str
    version: str
    events: tuple[dict[str, Any], ...] = Field(min_length=1)
    limits: Limits | None = None  # None: an ungated member of a gated exclusive group
    starts: tuple[int, ...] = ()  # positions of the actions that start an execution
    # The highest `priority` of its starting actions: its turn in the rule's queue.
    priority: str = Field(default="normal", pattern="^(low|normal|high|critical)$")


class Request(_Frozen):
    """A routed firing: the candidates of one occasion for one gate, in priority order."""

    key: str
    tag: str  # the occasion's digest: the ids of what fires derive from it
    time: datetime
    origin: dict[str, Any]  # id, source and type of the event the outcomes name
    entries: tuple[Entry, ...] = Field(min_length=1)
    # The trigger it came from (partition, offset); None for a timer's. A trigger partition's
    # records are routed in offset order, so a gate drops any request at or below the highest
    # offset it applied from that partition: a trigger reprocessed after a crash, however
    # late, is never counted twice.
    source: tuple[int, int] | None = None

    @property
    def id(self) -> str:
        """Unique per gate and occasion: a redelivered trigger routes the same id again."""
        return f"{self.key}:{self.tag}"


class Ended(_Frozen):
    """An execution a gated rule started has ended."""

    key: str
    rule_id: str
    execution_id: str
    time: datetime


class Flush(_Frozen):
    """A gathered batch's window came due."""

    key: str
    rule_id: str
    opened: datetime
    time: datetime


class Snapshot(_Frozen):
    """A gate's whole state as of a partition offset, which its owner writes now and then so
    that the gate outlives `hw.triggers`' retention (a worker that must rebuild it from the
    topic starts from the newest snapshot it finds, not from records that are gone)."""

    key: str
    as_of: int = Field(ge=0)  # the next partition offset the state does not reflect
    state: dict[str, Any]
    time: datetime


def limits_of(definition: RuleDefinition) -> Limits:
    """The limits a routed entry carries for `definition`."""
    batch = definition.batch
    return Limits(max_executions=definition.max_executions,
                  concurrency_limit=definition.concurrency_limit,
                  mode=definition.execution_mode,
                  batch_size=batch.size if batch is not None else 10,
                  batch_window=batch.window if batch is not None else 60.0)


def starts_of(definition: RuleDefinition) -> tuple[int, ...]:
    """The positions of the actions whose firing runs an execution (they hold a slot)."""
    return tuple(i for i, action in enumerate(definition.actions) if action.type in _STARTING)


def priority_of(definition: RuleDefinition) -> str:
    """A firing's turn when it queues: the highest `priority` of the rule's `start_workflow`
    actions (``normal`` when none sets one; a webhook call starts at ``normal``)."""
    given = [getattr(a, "priority", None) for a in definition.actions if a.type in _STARTING]
    return max((p or "normal" for p in given), key=PRIORITY_RANK.__getitem__,
               default="normal")


def request_event(request: Request) -> TriggerEvent:
    """The record that carries a routed firing to its gate's owner."""
    data = request.model_dump(mode="json", exclude={"key", "time"})
    return _event(request.id, FIRING, request.key, request.time, data)


def ended_event(ended: Ended) -> TriggerEvent:
    """The record that tells a gate one of its executions ended."""
    return _event(f"{ended.execution_id}:ended", ENDED, ended.key, ended.time,
                  {"rule_id": ended.rule_id, "execution_id": ended.execution_id})


def flush_event(flush: Flush) -> TriggerEvent:
    """The record that asks a gate to fire the batch opened at `opened`."""
    return _event(f"{flush.key}:{flush.rule_id}:{flush.opened.isoformat()}:flush", FLUSH,
                  flush.key, flush.time,
                  {"rule_id": flush.rule_id, "opened": flush.opened.isoformat()})


def snapshot_event(snapshot: Snapshot) -> TriggerEvent:
    """The record that keeps a gate's state on the log."""
    return _event(f"{snapshot.key}:{snapshot.as_of}:snapshot", SNAPSHOT, snapshot.key,
                  snapshot.time, {"as_of": snapshot.as_of, "state": snapshot.state})


def _event(event_id: str, kind: str, key: str, time: datetime, data: Any) -> TriggerEvent:
    return TriggerEvent(id=event_id, source=_SOURCE, type=kind, subject=key, time=time,
                        data=data, datacontenttype="application/json")


GateRecord = Request | Ended | Flush | Snapshot
"""Any record of a rule gate."""


def parse(event: Mapping[str, Any]) -> GateRecord:
    """The gate record a decoded `headwater.rule.*` trigger is.

    Raises:
        InvalidGateRecord: It is not one; the message names the field.
    """
    kind, key, data = event.get("type"), event.get("subject"), event.get("data")
    if not isinstance(key, str) or not key:
        raise InvalidGateRecord("subject: a gate record names its gate key")
    if not isinstance(data, Mapping):
        raise InvalidGateRecord("data: a gate record's data is an object")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise InvalidGateRecord(f"type: {kind!r} is no gate record")
    try:
        return model.model_validate({**data, "key": key, "time": event.get("time")})
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise InvalidGateRecord(f"data.{path}: {first['msg']}") from None


_MODELS: dict[str, type[GateRecord]] = {FIRING: Request, ENDED: Ended, FLUSH: Flush,
                                         SNAPSHOT: Snapshot}
