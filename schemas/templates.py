"""Instantiating a workflow template: ``{{ params.NAME }}`` placeholders rendered, pure.

A string that is one placeholder and nothing else becomes the value itself (a number stays a
number); a placeholder inside a longer string is replaced by the value as text (JSON for
anything but a string). The result is an ordinary definition, validated like any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from schemas.template_events import TemplateParameter
from schemas.validation import Problem

__all__ = ["SAMPLES", "check_values", "placeholders", "render"]

_PLACEHOLDER = re.compile(r"\{\{\s*params\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
    "object": (dict,), "array": (list,),
}
SAMPLES: Mapping[str, Any] = {"string": "x", "number": 1, "integer": 1, "boolean": True,
                              "object": {}, "array": []}
"""A value of each type, to try a template with when a parameter has no default."""


def placeholders(value: Any) -> set[str]:
    """The parameter names ``value`` (a JSON document) refers to."""
    if isinstance(value, str):
        return set(_PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders(v) | placeholders(k) for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(placeholders(v) for v in value))
    return set()


def _is(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("number", "integer"):
        return False
    return isinstance(value, _TYPES[kind])


def check_values(parameters: Sequence[TemplateParameter], given: Mapping[str, Any]
                 ) -> tuple[dict[str, Any], list[Problem]]:
    """The value of every parameter (given, else its default) and what is wrong with them."""
    declared = {p.name: p for p in parameters}
    problems = [Problem(f"parameters.{name}", "unknown_parameter",
                        f"the template has no parameter {name!r} (it has: {', '.join(declared) or 'none'})")
                for name in given if name not in declared]
    values: dict[str, Any] = {}
    for p in parameters:
        value = given.get(p.name, p.default)
        if value is None:
            if p.required:
                problems.append(Problem(f"parameters.{p.name}", "required",
                                        f"{p.name} is required ({p.description or p.type})"))
            continue
        if not _is(value, p.type):
            problems.append(Problem(f"parameters.{p.name}", "invalid_type",
                                    f"{p.name} must be a {p.type}, not {type(value).__name__}"))
            continue
        values[p.name] = value
    return values, problems


def render(value: Any, values: Mapping[str, Any]) -> Any:
    """``value`` with every placeholder of a known parameter replaced (unknown ones stay)."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value.strip())
        if whole is not None and whole.group(1) in values:
            return values[whole.group(1)]
        return _PLACEHOLDER.sub(lambda m: _text(values[m.group(1)]) if m.group(1) in values
                                else m.group(0), value)
    if isinstance(value, dict):
        return {render(k, values): render(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, values) for v in value]
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
