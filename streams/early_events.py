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
from streams.correlation import Subscription

__all__ = ["EARLY_EVENT_TTL", "EarlyEvent", "EarlyEvents", "WaitTypes"]

EARLY_EVENT_TTL = timedelta(seconds=60)
"""How long an event no wait took yet is kept for a wait opening just after it."""

_SWEEP_FLOOR = 1024


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


class EarlyEvents:
    """One partition's kept events by subject, and what changed since `changes`.

    Args:
        items: The kept events to start with (from the store).
        ttl: How long an event is kept.
    """

    def __init__(self, items: Iterable[EarlyEvent] = (), ttl: timedelta = EARLY_EVENT_TTL) -> None:
        self._ttl = ttl
        self._by_subject: dict[str, dict[str, EarlyEvent]] = {}
        self._changed: dict[str, EarlyEvent | None] = {}
        self._count = 0
        for item in items:
            self._put(item)
        self._sweep_at = max(_SWEEP_FLOOR, 2 * self._count)

    def __len__(self) -> int:
        return self._count

    def keep(self, event: Mapping[str, Any], at: datetime, delivered: Iterable[str]) -> None:
        """Keep `event` (it has a subject), noting the executions it already resumed."""
        subject = event["subject"]
        key = f"{event.get('source')}\x00{event.get('id')}"
        old = self._by_subject.get(subject, {}).get(key)
        if old is not None:  # the same event again: it arrived first at `old.at`
            item = old.model_copy(update={"delivered": old.delivered | frozenset(delivered)})
        else:
            item = EarlyEvent(key=key, subject=subject, at=at, event=dict(event),
                              delivered=frozenset(delivered))
        self._put(item)
        self._changed[key] = item
        if self._count > self._sweep_at:
            self.expire(at)
            self._sweep_at = max(_SWEEP_FLOOR, 2 * self._count)

    def claim(self, subscription: Subscription, at: datetime) -> dict[str, Any] | None:
        """The oldest live kept event `subscription` wants and its execution did not get yet
        (then noted as delivered to it); None if there is none."""
        group = self._by_subject.get(subscription.subject, {})
        for item in sorted(group.values(), key=lambda i: i.at):
            if at - item.at > self._ttl:
                self._remove(item)
            elif (subscription.execution_id not in item.delivered
                  and subscription.wants(str(item.event.get("type")))):
                noted = item.model_copy(
                    update={"delivered": item.delivered | {subscription.execution_id}})
                self._put(noted)
                self._changed[item.key] = noted
                return item.event
        return None

    def expire(self, at: datetime) -> None:
        """Drop every event kept longer than the time to live at `at`."""
        for group in list(self._by_subject.values()):
            for item in list(group.values()):
                if at - item.at > self._ttl:
                    self._remove(item)

    def changes(self) -> dict[str, EarlyEvent | None]:
        """What changed since the last call, by key (None: removed); then forget it."""
        out, self._changed = self._changed, {}
        return out

    def _put(self, item: EarlyEvent) -> None:
        group = self._by_subject.setdefault(item.subject, {})
        if item.key not in group:
            self._count += 1
        group[item.key] = item

    def _remove(self, item: EarlyEvent) -> None:
        group = self._by_subject[item.subject]
        del group[item.key]
        if not group:
            del self._by_subject[item.subject]
        self._count -= 1
        self._changed[item.key] = None
