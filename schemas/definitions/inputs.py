"""A workflow's declared inputs: what a start must carry, checked before anything runs.

A small JSON Schema subset, as users of Step Functions and n8n expect to declare it: each
parameter has a ``type``, may be ``required``, may have a ``default`` (filled in when the start
leaves it out) and an ``enum``, and a ``description`` the designer's start form shows. Every
start path (API, CLI, rules and event triggers, subprocess steps) calls `check_input`, and the
state machine checks again, so an execution never starts with an input its definition refuses.

Pure: no I/O. Problems name the field as a JSON path under ``input``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.definitions._common import Frozen

__all__ = ["InputParam", "InputProblem", "InputType", "check_input", "fill_input", "inputs_of"]

InputType = Literal["string", "number", "integer", "boolean", "object", "array"]

_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
    "object": (dict,), "array": (list,),
}


def _is(kind: str, value: Any) -> bool:
    # bool is an int in Python, never a number in JSON
    if isinstance(value, bool) and kind != "boolean":
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PY_TYPES[kind])


class InputParam(Frozen):
    """One declared input parameter.

    Attributes:
        type: The JSON type the value must have.
        required: A start without it is refused (unless it has a ``default``).
        default: The value used when a start leaves the parameter out.
        enum: The only values allowed.
        description: What the parameter is for (shown in the designer's start form).
    """

    type: InputType = "string"
    required: bool = False
    default: Any = None
    enum: list[Any] | None = Field(default=None, min_length=1, max_length=1000)
    description: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _consistent(self) -> InputParam:
        for where, value in (("default", self.default), *(
                (f"enum[{i}]", v) for i, v in enumerate(self.enum or []))):
            if value is not None and not _is(self.type, value):
                raise ValueError(f"{where} {value!r} is not of type {self.type}")
        if self.default is not None and self.enum is not None and self.default not in self.enum:
            raise ValueError(f"default {self.default!r} is not one of enum")
        return self


@dataclass(frozen=True, slots=True)
class InputProblem:
    """Why a start's input is refused: the JSON path (``input.<name>``), a code, a message."""

    path: str
    code: str
    message: str


def fill_input(params: Mapping[str, InputParam] | None,
               payload: Any) -> tuple[Any, list[InputProblem]]:
    """The input with defaults filled in, and every problem with it (none: it may start).

    Undeclared fields pass through unchanged (a workflow declares what it relies on, not all a
    caller may send). Without declared inputs the payload is returned as it is.
    """
    if not params:
        return payload, []
    if not isinstance(payload, dict):
        return payload, [InputProblem("input", "type", "the input must be a JSON object")]
    filled = dict(payload)
    problems: list[InputProblem] = []
    for name, param in params.items():
        path = f"input.{name}"
        if name not in filled or filled[name] is None:
            if param.default is not None:
                filled[name] = param.default
            elif param.required:
                problems.append(InputProblem(path, "required", f"{name} is required"))
            continue
        value = filled[name]
        if not _is(param.type, value):
            problems.append(InputProblem(path, "type", f"{name} must be of type {param.type}, "
                                                       f"not {_json_type(value)}"))
        elif param.enum is not None and value not in param.enum:
            shown = ", ".join(repr(v) for v in param.enum[:10])
            problems.append(InputProblem(path, "enum", f"{name} must be one of {shown}"))
    return filled, problems


def check_input(params: Mapping[str, InputParam] | None, payload: Any) -> list[InputProblem]:
    """Every problem of `payload` against the declared `params` (empty: acceptable)."""
    return fill_input(params, payload)[1]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    for kind in ("boolean", "integer", "number", "string", "array", "object"):
        if _is(kind, value):
            return kind
    return type(value).__name__


def inputs_of(definition: Mapping[str, Any] | None) -> dict[str, InputParam] | None:
    """The declared inputs of a workflow definition as published (a JSON object), or None.

    A definition that was accepted when published always parses; anything else declares nothing.
    """
    declared = (definition or {}).get("inputs")
    if not isinstance(declared, dict):
        return None
    try:
        return {str(k): InputParam.model_validate(v) for k, v in declared.items()}
    except ValueError:
        return None
