"""Pydantic's errors, turned into problems with JSON paths into what the author wrote."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from schemas.expressions import json_path_key
from schemas.validation._report import Problem, ValidationReport

M = TypeVar("M", bound=BaseModel)
Checks = Callable[[M], tuple[list[Problem], list[Problem]]]

# Discriminated unions put the chosen tag into an error's location; these are the tags.
_TAGS = {
    "steps": frozenset({"action", "condition", "loop", "parallel", "subprocess", "wait"}),
    "triggers": frozenset({"manual", "api", "webhook", "event", "schedule"}),
    "actions": frozenset({"start_workflow", "publish_event", "call_webhook", "signal_execution"}),
}
_PATTERN_KINDS = frozenset({"sequence", "threshold", "absence"})

_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "union_tag_invalid": "unknown_type",
    "union_tag_not_found": "missing_type",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "too_short": "out_of_range",
    "too_long": "out_of_range",
    "string_too_long": "out_of_range",
    "string_too_short": "empty_value",
    "string_pattern_mismatch": "invalid_format",
    "literal_error": "invalid_value",
    "enum": "invalid_value",
    "finite_number": "out_of_range",
}


def validate_model(model: type[M], checks: Checks[M], data: Any, noun: str) -> ValidationReport:
    """Schema first, then the model's own checks; every problem in the report, never raises."""
    if not isinstance(data, Mapping):
        return ValidationReport([Problem("$", "wrong_type", f"{noun} is an object")])
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        return ValidationReport(sorted(schema_problems(exc, data)))
    except RecursionError:
        return ValidationReport([Problem("$", "too_deep", "the definition nests too deeply")])
    errors, warnings = checks(parsed)
    return ValidationReport(errors, warnings, None if errors else parsed)  # type: ignore[arg-type]


def schema_problems(error: ValidationError, data: Any) -> list[Problem]:
    """One problem per pydantic error, located in `data` (the authored document)."""
    return [_problem(detail, data) for detail in error.errors(include_url=False)]


def _problem(detail: ErrorDetails, data: Any) -> Problem:
    kind = detail["type"]
    if kind in _CODES:
        code = _CODES[kind]
    elif kind.startswith("url_"):
        code = "invalid_url"
    elif kind.endswith(("_type", "_parsing")):
        code = "wrong_type"
    else:
        code = kind  # our own PydanticCustomError codes, e.g. invalid_cron
    return Problem(locate(detail["loc"], data), code, detail["msg"])


def _is_tag(loc: Sequence[int | str], i: int) -> bool:
    part = loc[i]
    if not isinstance(part, str) or i == 0:
        return False
    if loc[i - 1] == "pattern":
        return part in _PATTERN_KINDS
    if i >= 2 and isinstance(loc[i - 1], int) and isinstance(loc[i - 2], str):
        return part in _TAGS.get(loc[i - 2], frozenset())  # type: ignore[arg-type]
    return False


def locate(loc: Sequence[int | str], data: Any) -> str:
    """JSONPath of a pydantic location, following the authored data.

    Union tags are skipped; a missing key is still named; the walk stops where the
    authored value has no such part (e.g. a shorthand string for an object).
    """
    path, node = "$", data
    for i, part in enumerate(loc):
        if _is_tag(loc, i):
            continue
        if isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node):
            path, node = f"{path}[{part}]", node[part]
        elif isinstance(part, str) and isinstance(node, dict) and not part.startswith("["):
            path, node = path + json_path_key(part), node.get(part)
        else:
            break
    return path
