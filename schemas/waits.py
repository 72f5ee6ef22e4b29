"""The wait-subscription record format: what a `wait: {event}` step publishes on `hw.triggers`.

A wait for a correlated event opens a **subscription**: the execution processor's follow-up
publishes a `headwater.wait.opened` record keyed by the correlation value (the subject), and
the trigger agent owning that partition keeps it until an event of that subject resumes the
step. Both sides of the engine read this format, so it lives here rather than on either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.avro import UtcDatetime
from schemas.triggers import TriggerEvent

__all__ = [
    "INTERNAL_PREFIX",
    "WAIT_OPENED",
    "WAIT_SOURCE",
    "InvalidSubscription",
    "Subscription",
    "is_internal",
    "opened_event",
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
