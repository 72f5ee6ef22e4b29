"""What starts a workflow: by hand, the API, a webhook, an event, or a schedule."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.definitions._common import (
    Condition,
    DataMapping,
    Duration,
    Frozen,
    Schedule,
    infer_tag,
)

GLOB_HELP = "a glob: `*` matches any run of characters, `?` one; e.g. order.*"


class ManualTrigger(Frozen):
    """Started by a person from the CLI or the UI."""

    type: Literal["manual"]


class ApiTrigger(Frozen):
    """Started by a call to the HTTP API."""

    type: Literal["api"]


class WebhookTrigger(Frozen):
    """Started by an HMAC-signed POST to `/webhooks/<path>` (default: the workflow id)."""

    type: Literal["webhook"]
    path: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.\-/]{1,200}$")
    input: DataMapping = Field(
        default=None, description="execution input; default the request body"
    )


class EventTrigger(Frozen):
    """Started by a trigger event whose type and source match, and whose condition holds."""

    type: Literal["event"]
    type_pattern: str = Field(min_length=1, max_length=256, description=GLOB_HELP)
    source_pattern: str = Field(default="*", min_length=1, max_length=256, description=GLOB_HELP)
    condition: Condition | None = None
    input: DataMapping = Field(
        default=None, description="execution input; default the event's data"
    )


class ScheduleTrigger(Schedule):
    """Started on a cron schedule in a time zone, or every fixed interval."""

    type: Literal["schedule"]
    input: DataMapping = None
    catch_up: bool = Field(
        default=False, description="after downtime, fire the missed runs once each"
    )


Trigger = Annotated[
    ManualTrigger | ApiTrigger | WebhookTrigger | EventTrigger | ScheduleTrigger,
    Field(discriminator="type"),
    infer_tag("type", (("type_pattern", "event"), ("cron", "schedule"), ("interval", "schedule"))),
]
"""Any trigger, told apart by its `type`."""

__all__ = [
    "ApiTrigger",
    "Duration",
    "EventTrigger",
    "ManualTrigger",
    "ScheduleTrigger",
    "Trigger",
    "WebhookTrigger",
]
