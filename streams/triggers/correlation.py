"""Message correlation: which waiting executions an event on `hw.triggers` resumes (pure).

A `wait: {event: {type, correlation}}` step opens a **subscription**: the processor's
follow-up (`streams.executions.routing`) publishes a `headwater.wait.opened` record on `hw.triggers`
keyed by the correlation value (the subject), so it lands on the partition that also receives
every event with that subject. The trigger agent owning that partition keeps the partition's
`Subscriptions`; an ordinary event takes the subscriptions of its subject whose event type
pattern it matches (one-shot), and each taken one becomes an `EventReceived` command.

Every id is derived, never drawn: a subscription's id is its `StepStarted`'s
``<execution_id>:e<seq>``, and a command's id digests the event's (source, id) with the
subscription's id, so a redelivered event or wait record changes nothing the second time.
No Kafka, no clock: time comes in as an argument.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas.commands import EventReceived
from schemas.waits import Subscription, is_internal
from streams.triggers.subject_table import SubjectTable

__all__ = ["Subscriptions", "received_command"]


def received_command(subscription: Subscription, event: Mapping[str, Any],
                     now: datetime) -> EventReceived:
    """The command that hands `event` to the waiting execution (its id derived, not drawn)."""
    identity = "\x00".join((str(event.get("source")), str(event.get("id")), subscription.id))
    digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
    return EventReceived(command_id=f"{subscription.id}:ev:{digest}",
                         execution_id=subscription.execution_id, time=now, event=dict(event))


class Subscriptions(SubjectTable[Subscription]):
    """One partition's open subscriptions, by subject, and what changed since `changes`.

    Args:
        items: The subscriptions to start with (from the store).
    """

    def subject_of(self, item: Subscription) -> str:
        return item.subject

    def key_of(self, item: Subscription) -> str:
        return item.id

    def __contains__(self, subject: object) -> bool:
        """Whether a subscription of `subject` is open."""
        return bool(self.group(subject))

    def open(self, subscription: Subscription, now: datetime) -> bool:
        """Add `subscription` (False: already open, or expired at `now`)."""
        if subscription.id in self.group(subscription.subject) or not subscription.live(now):
            return False
        self._put(subscription)
        self._sweep_if_grown(now)
        return True

    def take(self, event: Mapping[str, Any], now: datetime,
             only: str | None = None) -> list[Subscription]:
        """Remove and return the live subscriptions `event` resumes; drop its subject's expired.

        The event resumes each subscription of its subject whose type pattern it matches, in
        the order they were opened (one per waiting step: a subscription is one-shot), or
        only the one with id `only` when given.
        """
        group = self.group(event.get("subject"))
        event_type = event.get("type")
        if not group or not isinstance(event_type, str) or is_internal(event_type):
            return []
        taken = []
        for sub in list(group.values()):
            if not sub.live(now):
                self._remove(sub)
            elif sub.wants(event_type) and only in (None, sub.id):
                self._remove(sub)
                taken.append(sub)
        return taken

    def expire(self, now: datetime) -> list[Subscription]:
        """Remove and return every subscription expired at `now`."""
        gone = [sub for sub in self if not sub.live(now)]
        for sub in gone:
            self._remove(sub)
        return gone
