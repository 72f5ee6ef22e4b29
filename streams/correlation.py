"""Message correlation: which waiting executions an event on `hw.triggers` resumes (pure).

A `wait: {event: {type, correlation}}` step opens a **subscription**: the processor's
follow-up (`streams.routing`) publishes a `headwater.wait.opened` record on `hw.triggers`
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
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.avro import UtcDatetime
from schemas.commands import EventReceived
from schemas.triggers import TriggerEvent
from streams.subject_table import SubjectTable

__all__ = [
    "INTERNAL_PREFIX",
    "WAIT_OPENED",
    "WAIT_SOURCE",
    "InvalidSubscription",
    "Subscription",
    "Subscriptions",
    "is_internal",
    "opened_event",
    "received_command",
    "subscription_of",
]

INTERNAL_PREFIX = "headwater.wait."
"""Event types under this prefix are the engine's own bookkeeping: rules never see them."""

WAIT_OPENED = INTERNAL_PREFIX + "opened"
"""The type of the record that opens a subscription."""

WAIT_SOURCE = "/headwater/executions"
"""The CloudEvents source of the engine's wait records."""



class InvalidSubscription(ValueError):
    """A wait record whose data is not a subscription; `field` names the attribute at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class Subscription(BaseModel):
    """An execution's wait step expecting an event of a type for a subject.

    Attributes:
        id: The opening `StepStarted`'s ``<execution_id>:e<seq>`` (the wait record's id).
        execution_id: The waiting execution.
        scope: The wait step's scope (loop iteration or parallel branch path; "" at the top).
        step_id: The wait step.
        event_type: The wanted event type: exact, or a glob as the state machine reads it.
        subject: The correlation value the event's subject must equal.
        expires: The step timeout's deadline, if it has one; later events cannot resume it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    execution_id: str = Field(min_length=1)
    scope: str = ""
    step_id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    expires: UtcDatetime | None = None

    def live(self, now: datetime) -> bool:
        """Whether an event at `now` may still resume the step."""
        return self.expires is None or now <= self.expires

    def wants(self, event_type: str) -> bool:
        """Whether an event of `event_type` is what the step waits for."""
        return fnmatchcase(event_type, self.event_type)


def is_internal(event_type: object) -> bool:
    """Whether an event type is the engine's own (a wait record), not a user's trigger."""
    return isinstance(event_type, str) and event_type.startswith(INTERNAL_PREFIX)


def opened_event(subscription: Subscription, time: datetime) -> TriggerEvent:
    """The `hw.triggers` record that opens `subscription` (keyed by its subject)."""
    data = subscription.model_dump(mode="json", exclude={"id", "subject"})
    return TriggerEvent(id=subscription.id, source=WAIT_SOURCE, type=WAIT_OPENED,
                        subject=subscription.subject, time=time, data=data,
                        datacontenttype="application/json")


def subscription_of(event: Mapping[str, Any]) -> Subscription:
    """The subscription a `headwater.wait.opened` event (as a dict) opens.

    Raises:
        InvalidSubscription: naming the first field at fault (``data.step_id``, ``subject``).
    """
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidSubscription("data", "must be an object")
    try:
        return Subscription.model_validate(
            {**data, "id": event.get("id"), "subject": event.get("subject")})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        field = where if where in ("id", "subject") else f"data.{where}"
        raise InvalidSubscription(field, error["msg"]) from None


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
