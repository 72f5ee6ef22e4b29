"""Types shared by workflow and rule definitions: durations, versions, policies."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_FULL = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
DURATION_PATTERN = r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$|^\d+(?:\.\d+)?$"


def parse_duration(value: Any) -> Any:
    """Turn `"1h30m"`, `"500ms"`, `"30"` or `30` into float seconds.

    Anything that is neither a number nor a duration string is passed through for pydantic
    to refuse with its own message.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return value
    text = value.strip().replace(" ", "")
    try:
        return float(text)
    except ValueError:
        pass
    if not _DURATION_FULL.match(text):
        raise PydanticCustomError(
            "invalid_duration",
            "'{value}' is not a duration: use seconds or units like 500ms, 30s, 5m, 2h, 1d, 1h30m",
            {"value": value},
        )
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(ge=0, allow_inf_nan=False),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
            "description": "seconds, or a string like 500ms, 30s, 5m, 2h, 1d, 1h30m",
        }
    ),
]
"""A duration in seconds; authored as a number or a string like `"1h30m"`."""

SLUG_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,127}$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
"""A definition id: lower-case letters, digits, `_`, `.`, `-`."""

STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
StepId = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN)]
"""A step id: starts with a letter or `_`; read in expressions as `steps.<id>`."""

END = "$end"
"""The target that ends the current scope (the workflow, a loop body or a branch)."""
Target = Annotated[str, StringConstraints(pattern=r"^(?:[A-Za-z_][A-Za-z0-9_-]{0,63}|\$end)$")]

SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
SemVer = Annotated[str, StringConstraints(pattern=SEMVER_PATTERN)]
"""A semantic version, `MAJOR.MINOR.PATCH[-pre][+build]`."""

Status = Literal["draft", "active", "paused", "deprecated"]
"""Lifecycle of a definition; only `active` ones run."""

Label = Annotated[str, StringConstraints(min_length=1, max_length=128)]
DataMapping = Any
"""A JSON value whose strings may hold `${ expr }` parts (see `schemas.expressions`)."""
Condition = dict[str, Any]
"""A durable_rules-style condition on one event (see `schemas.definitions.conditions`)."""


class Frozen(BaseModel):
    """Base of every definition model: immutable, strict about unknown fields."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        serialize_by_alias=True,
        validate_by_alias=True,
        validate_by_name=True,
    )


class RetryPolicy(Frozen):
    """How often and how patiently a failed step is tried again.

    Attempt n (n >= 2) waits `initial_interval * factor**(n-2)` (exponential) or
    `initial_interval` (fixed), capped at `max_interval`, then spread by `jitter`.
    """

    max_attempts: int = Field(default=3, ge=1, le=100, description="1 means no retry")
    backoff: Literal["fixed", "exponential"] = "exponential"
    initial_interval: Duration = 1.0
    factor: float = Field(default=2.0, ge=1.0, le=10.0)
    max_interval: Duration = 300.0
    jitter: float = Field(default=0.0, ge=0.0, le=1.0, description="fraction of the delay")

    @model_validator(mode="after")
    def _cap_not_below_start(self) -> RetryPolicy:
        if self.max_interval < self.initial_interval:
            raise PydanticCustomError(
                "out_of_range", "max_interval must not be below initial_interval"
            )
        return self


def _error_handling_shorthand(value: Any) -> Any:
    if isinstance(value, str):
        return {"action": value}
    return value


class ErrorHandling(Frozen):
    """What a failure does once retries are spent: fail, continue, or go to a step.

    Authored as `"fail"`, `"continue"`, or `{action: goto, goto: <step id>}`.
    """

    action: Literal["fail", "continue", "goto"] = "fail"
    goto: Target | None = None

    @model_validator(mode="after")
    def _goto_needs_target(self) -> ErrorHandling:
        if (self.action == "goto") != (self.goto is not None):
            raise PydanticCustomError(
                "invalid_error_handling", "`goto` is required with action goto, and only then"
            )
        return self


ErrorPolicy = Annotated[ErrorHandling, BeforeValidator(_error_handling_shorthand)]


class Schedule(Frozen):
    """A cron expression in an IANA time zone, or a fixed interval: exactly one."""

    cron: str | None = None
    timezone: str = "UTC"
    interval: Duration | None = Field(default=None, gt=0)

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise PydanticCustomError(
                "invalid_cron", "'{cron}' is not a cron expression", {"cron": value}
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise PydanticCustomError(
                "invalid_timezone", "'{tz}' is not an IANA time zone", {"tz": value}
            ) from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.cron is None) == (self.interval is None):
            raise PydanticCustomError(
                "invalid_schedule", "give exactly one of `cron` and `interval`"
            )
        return self


def infer_tag(tag: str, clues: tuple[tuple[str, str], ...]) -> BeforeValidator:
    """A validator that fills a missing discriminator from a telling key.

    Lets authors write `{id: a, action: log}` for `{id: a, type: action, action: log}`.
    `clues` pairs a key with the tag it implies; the first key present wins.
    """

    def fill(value: Any) -> Any:
        if isinstance(value, dict) and tag not in value:
            for key, implied in clues:
                if key in value:
                    return {tag: implied, **value}
        return value

    return BeforeValidator(fill)
