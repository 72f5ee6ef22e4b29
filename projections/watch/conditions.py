"""The monitor's alert conditions: what ``HEADWATER_ALERT_CONDITIONS`` may say, validated.

A JSON list; each item has a ``kind`` and the ``channels`` (names of
``HEADWATER_ALERT_CHANNELS``) its alerts go to:

* ``workflow_failure_rate``: ``max_rate`` (0 to 1), ``window_s``, ``min_executions``,
  ``workflows`` (glob patterns, default every workflow);
* ``dead_letters``: ``max_new`` (letters a window may add without an alert, default 0),
  ``window_s``;
* ``projection_lag``: ``max_records`` (records the views may be behind the log), ``for_s``
  (how long it must last);
* ``rule_actions_failing``: ``max_rate`` (0 to 1), ``window_s``, ``min_actions``, ``rules`` (glob
  patterns).

A workflow or rule is judged by the first condition of its kind whose patterns match it, so
every alert key has one rule; ``dead_letters`` and ``projection_lag`` may appear once each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

__all__ = ["Condition", "ConditionProblem", "ConditionsError", "DeadLetters", "ProjectionLag",
           "RuleActionsFailing", "WorkflowFailureRate", "first_match", "parse_conditions"]

_WEEK_S = 7 * 86400


class _Condition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: tuple[str, ...] = Field(min_length=1)


class WorkflowFailureRate(_Condition):
    """Failed and timed-out executions among finished ones, over the last `window_s`."""

    kind: Literal["workflow_failure_rate"]
    max_rate: float = Field(gt=0, le=1)
    window_s: float = Field(default=900, ge=10, le=_WEEK_S)
    min_executions: int = Field(default=10, ge=1)
    workflows: tuple[str, ...] = Field(default=("*",), min_length=1)


class DeadLetters(_Condition):
    """More than `max_new` dead letters over the last `window_s`."""

    kind: Literal["dead_letters"]
    max_new: int = Field(default=0, ge=0)
    window_s: float = Field(default=600, ge=10, le=_WEEK_S)


class ProjectionLag(_Condition):
    """The views more than `max_records` behind the log for `for_s` seconds or longer."""

    kind: Literal["projection_lag"]
    max_records: int = Field(ge=0)
    for_s: float = Field(default=60, ge=0, le=_WEEK_S)


class RuleActionsFailing(_Condition):
    """Failed actions among a rule's actions that ended, over the last `window_s`."""

    kind: Literal["rule_actions_failing"]
    max_rate: float = Field(gt=0, le=1)
    window_s: float = Field(default=900, ge=10, le=_WEEK_S)
    min_actions: int = Field(default=10, ge=1)
    rules: tuple[str, ...] = Field(default=("*",), min_length=1)


Condition = Annotated[WorkflowFailureRate | DeadLetters | ProjectionLag | RuleActionsFailing,
                      Field(discriminator="kind")]
_LIST = TypeAdapter(list[Condition])


class ConditionProblem(BaseModel):
    """One thing wrong, at `path` (``[1].max_rate``)."""

    path: str
    message: str


class ConditionsError(ValueError):
    """The conditions are not valid; `problems` name each field."""

    def __init__(self, problems: Sequence[ConditionProblem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = list(problems)


_KINDS = ("workflow_failure_rate", "dead_letters", "projection_lag", "rule_actions_failing")


def _path(loc: Iterable[int | str], error_type: str) -> str:
    """``[1].max_rate`` from pydantic's location (which names the union's tag too)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in _KINDS:
            out += f".{part}" if out else part
    if error_type in ("union_tag_invalid", "union_tag_not_found"):
        out += ".kind"
    return out or "(top)"


def parse_conditions(text: str, channels: Iterable[str] | None = None) -> list[Condition]:
    """``HEADWATER_ALERT_CONDITIONS`` parsed and checked.

    Args:
        text: The JSON list.
        channels: The channel names defined (``HEADWATER_ALERT_CHANNELS``); None: not checked.

    Raises:
        ConditionsError: Naming each field that is wrong.
    """
    try:
        parsed = _LIST.validate_json(text)
    except ValidationError as exc:
        raise ConditionsError([ConditionProblem(path=_path(e["loc"], e["type"]), message=e["msg"])
                               for e in exc.errors()]) from None
    problems: list[ConditionProblem] = []
    seen: dict[str, int] = {}
    for i, condition in enumerate(parsed):
        if condition.kind in ("dead_letters", "projection_lag"):
            if condition.kind in seen:
                problems.append(ConditionProblem(
                    path=f"[{i}].kind", message=f"{condition.kind} appears twice (first at "
                                                f"[{seen[condition.kind]}]): keep one"))
            seen.setdefault(condition.kind, i)
        known = set(channels) if channels is not None else None
        for j, name in enumerate(condition.channels):
            if known is not None and name not in known:
                problems.append(ConditionProblem(
                    path=f"[{i}].channels[{j}]",
                    message=f"{name!r} is not a channel of HEADWATER_ALERT_CHANNELS"))
    if problems:
        raise ConditionsError(problems)
    return parsed


_C = TypeVar("_C", WorkflowFailureRate, RuleActionsFailing)


def first_match(conditions: Sequence[_C], subject: str) -> _C | None:
    """The first condition whose patterns match `subject` (a workflow or rule id)."""
    for condition in conditions:
        patterns = (condition.workflows if isinstance(condition, WorkflowFailureRate)
                    else condition.rules)
        if any(fnmatchcase(subject, p) for p in patterns):
            return condition
    return None
