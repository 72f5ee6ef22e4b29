"""The automation rule: when an event (or a schedule) matches, run actions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, HttpUrl, model_validator
from pydantic_core import PydanticCustomError

from schemas.definitions._common import (
    Condition,
    DataMapping,
    Duration,
    Frozen,
    Label,
    Schedule,
    SemVer,
    Slug,
    Status,
    infer_tag,
)
from schemas.definitions.triggers import GLOB_HELP


class RuleTrigger(Frozen):
    """Which events a rule looks at: glob patterns on the event type and source."""

    event_type: str = Field(default="*", min_length=1, max_length=256, description=GLOB_HELP)
    source: str = Field(default="*", min_length=1, max_length=256, description=GLOB_HELP)


class SequencePattern(Frozen):
    """Events matching `steps[0]`, then `steps[1]`, ... for one key, all `within` a window."""

    kind: Literal["sequence"]
    steps: list[Condition] = Field(min_length=2, max_length=16)
    within: Duration = Field(gt=0)
    correlate_by: str = Field(default="subject", min_length=1, description="event field path")


class ThresholdPattern(Frozen):
    """At least `count` matching events for one key within a window."""

    kind: Literal["threshold"]
    count: int = Field(ge=2, le=1_000_000)
    within: Duration = Field(gt=0)
    correlate_by: str = Field(default="subject", min_length=1)


class AbsencePattern(Frozen):
    """An event matching `first` not followed by one matching `then` within `timeout`."""

    kind: Literal["absence"]
    first: Condition
    then: Condition
    timeout: Duration = Field(gt=0)
    correlate_by: str = Field(default="subject", min_length=1)


Pattern = Annotated[
    SequencePattern | ThresholdPattern | AbsencePattern,
    Field(discriminator="kind"),
    infer_tag("kind", (("steps", "sequence"), ("count", "threshold"), ("first", "absence"))),
]


class StartWorkflow(Frozen):
    """Start a workflow with input mapped from the event."""

    type: Literal["start_workflow"]
    workflow_id: Slug
    version: str = Field(default="*", min_length=1, max_length=64)
    input: DataMapping = Field(default=None, description="default: the event's data")
    priority: Literal["low", "normal", "high", "critical"] | None = Field(
        default=None, description="the started execution's turn at a concurrency limit "
                                  "(default normal)")


class PublishEvent(Frozen):
    """Publish a new trigger event."""

    type: Literal["publish_event"]
    event_type: str = Field(min_length=1, max_length=256)
    source: str = Field(default="headwater/rules", min_length=1, max_length=256)
    subject: str | None = None
    data: DataMapping = None


class CallWebhook(Frozen):
    """Call an HTTP endpoint."""

    type: Literal["call_webhook"]
    url: HttpUrl
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: DataMapping = None


class SignalExecution(Frozen):
    """Send a signal to a running execution."""

    type: Literal["signal_execution"]
    execution_id: str = Field(min_length=1, description="CEL giving the execution id")
    signal: str = Field(min_length=1, max_length=256)
    payload: DataMapping = None


Action = Annotated[
    StartWorkflow | PublishEvent | CallWebhook | SignalExecution,
    Field(discriminator="type"),
    infer_tag(
        "type",
        (
            ("workflow_id", "start_workflow"),
            ("url", "call_webhook"),
            ("execution_id", "signal_execution"),
            ("event_type", "publish_event"),
        ),
    ),
]


class BatchSettings(Frozen):
    """Gather matches and fire them together once `size` are in or `window` has passed."""

    size: int = Field(default=10, ge=1, le=100_000)
    window: Duration = Field(default=60.0, gt=0)


def _any_event() -> RuleTrigger:
    return RuleTrigger()


class RuleDefinition(Frozen):
    """An automation rule, as authored in YAML or JSON."""

    kind: Literal["rule"] = "rule"
    id: Slug
    name: str = Field(min_length=1, max_length=256)
    description: str = ""
    version: SemVer = "1.0.0"
    type: Literal["trigger", "scheduled", "conditional"] = "trigger"
    trigger: RuleTrigger = Field(default_factory=lambda: _any_event())
    schedule: Schedule | None = None
    conditions: Condition | None = None
    pattern: Pattern | None = None
    actions: list[Action] = Field(min_length=1, max_length=64)
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000, description="higher fires first")
    exclusive_group: Label | None = None
    enabled: bool = True
    execution_mode: Literal["immediate", "queued", "batch"] = "immediate"
    batch: BatchSettings | None = None
    max_executions: int | None = Field(default=None, ge=1)
    concurrency_limit: int | None = Field(default=None, ge=1, le=100_000)
    # Removed, like a workflow's `permissions`: read, refused by validation in new definitions.
    timeout: Duration | None = Field(default=None, gt=0)
    status: Status = "active"
    owner: str | None = None
    tags: list[Label] = Field(default_factory=list)

    @model_validator(mode="after")
    def _type_needs(self) -> RuleDefinition:
        if self.type == "scheduled" and self.schedule is None:
            raise PydanticCustomError("missing_schedule", "a scheduled rule needs `schedule`")
        if self.type != "scheduled" and self.schedule is not None:
            raise PydanticCustomError("invalid_rule", "only a scheduled rule has `schedule`")
        if self.type == "conditional" and self.conditions is None and self.pattern is None:
            raise PydanticCustomError(
                "missing_conditions", "a conditional rule needs `conditions` or `pattern`"
            )
        return self
