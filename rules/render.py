"""A fast path for mappings that only copy event fields: `${ event.data.x }` without CEL.

Most action mappings copy fields of the trigger event. Handing the whole event to the CEL
runtime for that costs tens of microseconds per expression (it converts the context on every
call); a compiled dictionary walk costs well under one. Strings that hold anything else (any
operator, call, index, other root name, or an escaped `$${`) make the whole mapping fall back
to `schemas.expressions.compile_mapping`, so the results are the same either way: the same
values, the same `ExpressionError` on a missing field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from rules.conditions import field_getter
from rules.values import MISSING
from schemas.expressions import ExpressionError

Render = Callable[[Mapping[str, Any]], Any]
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_WHOLE = re.compile(rf"\$\{{\s*(event(?:\.{_NAME})*)\s*\}}")
_PIECE = re.compile(rf"\$\{{\s*({_NAME}(?:\.{_NAME})*)\s*\}}")
# CEL words that are not field names; a path using one is left to CEL.
_RESERVED = frozenset(
    {
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)


class _Scalar:
    """A literal string, number, boolean or null: copied into the output as is."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_Compiled = Render | _Scalar | None


def compile_fast(mapping: Any) -> Render | None:
    """A renderer over `{"event": ...}` for a mapping of plain event-field copies, or None."""
    compiled = _compile(mapping)
    if isinstance(compiled, _Scalar):
        value = compiled.value
        return lambda ctx: value
    return compiled


def _compile(mapping: Any) -> _Compiled:
    if isinstance(mapping, str):
        return _string(mapping)
    if isinstance(mapping, Mapping):
        return _object({str(k): _compile(v) for k, v in mapping.items()})
    if isinstance(mapping, list | tuple):
        items = [_compile(v) for v in mapping]
        if any(r is None for r in items):
            return None
        renders = tuple(_as_render(r) for r in items if r is not None)
        return lambda ctx: [r(ctx) for r in renders]
    return _Scalar(mapping)


def _as_render(compiled: Render | _Scalar) -> Render:
    if isinstance(compiled, _Scalar):
        value = compiled.value
        return lambda ctx: value
    return compiled


def _object(fields: dict[str, _Compiled]) -> Render | None:
    # Scalars sit in a template copied per render (in key order); only the rest is computed.
    if any(r is None for r in fields.values()):
        return None
    template = {k: r.value if isinstance(r, _Scalar) else None for k, r in fields.items()}
    dynamic = tuple(
        (k, r) for k, r in fields.items() if r is not None and not isinstance(r, _Scalar)
    )

    def render(ctx: Mapping[str, Any]) -> dict[str, Any]:
        out = template.copy()
        for key, part in dynamic:
            out[key] = part(ctx)
        return out

    return render


def _string(text: str) -> Render | _Scalar | None:
    if "${" not in text:
        return _Scalar(text)
    if "$${" in text:
        return None
    whole = _WHOLE.fullmatch(text)
    if whole is not None:
        return _lookup(whole.group(1))
    parts: list[str | Render] = []
    at = 0
    for piece in _PIECE.finditer(text):
        path = piece.group(1)
        if not path.startswith("event.") and path != "event":
            return None
        parts.append(text[at : piece.start()])
        lookup = _lookup(path)
        if lookup is None:
            return None
        parts.append(lookup)
        at = piece.end()
    parts.append(text[at:])
    if any("${" in p for p in parts if isinstance(p, str)):
        return None  # something CEL must parse
    return _template(tuple(p for p in parts if p != ""))


def _lookup(path: str) -> Render | None:
    if any(part in _RESERVED for part in path.split(".")):
        return None
    get = field_getter(path)

    def render(ctx: Mapping[str, Any]) -> Any:
        value = get(ctx)
        if value is MISSING:
            raise ExpressionError("evaluation_error", f"no such key on the way to {path}")
        return value

    return render


def _template(parts: tuple[str | Render, ...]) -> Render:
    def render(ctx: Mapping[str, Any]) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                value = part(ctx)
                out.append(value if isinstance(value, str) else orjson.dumps(value).decode())
        return "".join(out)

    return render
