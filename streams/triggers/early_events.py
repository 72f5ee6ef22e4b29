"""Events that arrive just before the wait they resume (pure): kept a short while per subject.

A payment may be published while the execution is still sending its reminder, a moment before
its `wait: {event: ...}` step opens a subscription. Like Zeebe's message time-to-live, an event
of a type some active workflow waits for is kept for `EARLY_EVENT_TTL` (by broker time); a
subscription that opens within that time takes the oldest kept event it wants. A kept event
resumes each execution at most once (it remembers which it went to, also when it went live),
so the next wait of the same execution (a loop's next round) does not take it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.avro import UtcDatetime
from schemas.definitions import WorkflowDefinition
from schemas.definitions.steps import WaitStep
from schemas.waits import Subscription
from streams.triggers.subject_table import SubjectTable

__all__ = ["EARLY_EVENT_TTL", "EarlyEvent", "EarlyEvents", "WaitTypes"]

EARLY_EVENT_TTL = timedelta(seconds=60)
"""How long an event no wait took yet is kept for a wait opening just after it."""



class EarlyEvent(BaseModel):
    """A kept event, when it arrived, and the executions it already resumed."""

    model_config = ConfigDict(frozen=True)

    key: str
    subject: str
    at: UtcDatetime
    event: dict[str, Any]
    delivered: frozenset[str] = frozenset()


class WaitTypes:
    """The event types the wait steps of some workflows expect (exact names and globs).

    Args:
        workflows: The active workflow definitions.
    """

    def __init__(self, workflows: Iterable[WorkflowDefinition] = ()) -> None:
        found = {t for w in workflows for t in _wait_types(w.steps)}
        self.exact = frozenset(t for t in found if not _is_glob(t))
        """The exact types (a set, for the hot path)."""
        self.globs = tuple(sorted(t for t in found if _is_glob(t)))
        """The glob patterns."""

    def __contains__(self, event_type: object) -> bool:
        if event_type in self.exact:  # decoded events' types are text: hashable
            return True
        return isinstance(event_type, str) and any(fnmatchcase(event_type, g)
                                                   for g in self.globs)


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _wait_types(node: object) -> Iterator[str]:
    """Every `wait: {event: {type}}` below `node`, however nested (loops, parallel branches)."""
    if isinstance(node, WaitStep) and node.event is not None:
        yield node.event.type
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            value = getattr(node, name)
            if isinstance(value, list | BaseModel):
                yield from _wait_types(value)
    elif isinstance(node, list):
        for item in node:
            yield from _wait_types(item)


class EarlyEvents(SubjectTable[EarlyEvent]):
    """One partition's kept events by subject, and what changed since `changes`.

    Args:
        items: The kept events to start with (from the store).
        ttl: How long an event is kept.
    """

    def __init__(self, items: Iterable[EarlyEvent] = (), ttl: timedelta = EARLY_EVENT_TTL) -> None:
        self._ttl = ttl
        super().__init__(items)

    def subject_of(self, item: EarlyEvent) -> str:
        return item.subject

    def key_of(self, item: EarlyEvent) -> str:
        return item.key

    def keep(self, event: Mapping[str, Any], at: datetime, delivered: Iterable[str]) -> None:
        """Keep `event` (it has a subject), noting the executions it already resumed."""
        subject = event["subject"]
        key = f"{event.get('source')}\x00{event.get('id')}"
        old = self.group(subject).get(key)
        if old is not None:  # the same event again: it arrived first at `old.at`
            item = old.model_copy(update={"delivered": old.delivered | frozenset(delivered)})
        else:
            item = EarlyEvent(key=key, subject=subject, at=at, event=dict(event),
                              delivered=frozenset(delivered))
        self._put(item)
        self._sweep_if_grown(at)

    def claim(self, subscription: Subscription, at: datetime) -> dict[str, Any] | None:
        """The oldest live kept event `subscription` wants and its execution did not get yet
        (then noted as delivered to it); None if there is none."""
        for item in sorted(self.group(subscription.subject).values(), key=lambda i: i.at):
            if at - item.at > self._ttl:
                self._remove(item)
            elif (subscription.execution_id not in item.delivered
                  and subscription.wants(str(item.event.get("type")))):
                self._put(item.model_copy(
                    update={"delivered": item.delivered | {subscription.execution_id}}))
                return item.event
        return None

    def expire(self, at: datetime) -> list[EarlyEvent]:
        """Drop (and return) every event kept longer than the time to live at `at`."""
        gone = [item for item in self if at - item.at > self._ttl]
        for item in gone:
            self._remove(item)
        return gone
