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

from rules.conditions import MISSING, field_getter
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


def compile_fast(mapping: Any) -> Render | None:
    """A renderer over `{"event": ...}` for a mapping of plain event-field copies, or None."""
    if isinstance(mapping, str):
        return _string(mapping)
    if isinstance(mapping, Mapping):
        items = [(str(k), compile_fast(v)) for k, v in mapping.items()]
        if any(r is None for _, r in items):
            return None
        pairs = tuple((k, r) for k, r in items if r is not None)
        return lambda ctx: {k: r(ctx) for k, r in pairs}
    if isinstance(mapping, list | tuple):
        renders = [compile_fast(v) for v in mapping]
        if any(r is None for r in renders):
            return None
        fixed = tuple(r for r in renders if r is not None)
        return lambda ctx: [r(ctx) for r in fixed]
    return lambda ctx: mapping


def _string(text: str) -> Render | None:
    if "${" not in text:
        return lambda ctx: text
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
