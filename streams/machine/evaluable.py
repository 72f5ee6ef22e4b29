"""Compiled expressions and mappings, with a fast path for plain field reads.

Most expressions in a workflow only read a value: ``${ output }``, ``${ vars.total }``,
``input.items``. The CEL runtime converts its whole context on every call, which
costs several microseconds even for those, so a read of a plain JSON value is done
here with a dictionary walk instead. Anything else (an operator, a call, a missing
key, a value that is not plain JSON, like ``now`` or an integer CEL cannot hold)
goes to CEL exactly as before, so the results and the errors are the same either
way. Only the order of keys in an object read whole through the fast path differs:
it is the order the value was written in, where CEL gives an arbitrary order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson

from schemas.expressions import (
    CONTEXT_NAMES,
    MAX_INPUT_BYTES,
    MAX_INPUT_NODES,
    ExpressionError,
    check_context,
    compile_expression,
    compile_mapping,
)

__all__ = ["Evaluable"]

Render = Callable[[Mapping[str, Any]], Any]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# A term is a field path or a quoted string with no escapes, newlines or braces (so it
# cannot hide the `}` that ends a `${ }`); a sum joins terms with `+`.
_TERM = re.compile(rf"{_NAME}(?:\.{_NAME})*|'[^'\\\r\n{{}}]*'|\"[^\"\\\r\n{{}}]*\"")
_SUM = rf"(?:{_TERM.pattern})(?:\s*\+\s*(?:{_TERM.pattern}))*"
_EXPRESSION = re.compile(rf"\s*({_SUM})\s*")
_PIECE = re.compile(rf"\$\{{\s*({_SUM})\s*\}}")
# CEL words that are not field names; a path using one is left to CEL.
_RESERVED = frozenset({
    "true", "false", "null", "in", "as", "break", "const", "continue", "else", "for",
    "function", "if", "import", "let", "loop", "package", "namespace", "return", "var",
    "void", "while",
})
_INT64 = range(-(2**63), 2**63)


class _Fallback(Exception):
    """The fast path cannot give CEL's answer for this value; ask CEL."""


class Evaluable:
    """A compiled expression or mapping, or the compile error it will raise when used."""

    __slots__ = ("_checked", "_error", "_render", "is_mapping", "names")

    def __init__(self, source: Any, *, mapping: bool) -> None:
        self.is_mapping = mapping
        self._error: ExpressionError | None = None
        self._render: Render = _never
        self._checked = False
        self.names: frozenset[str] = frozenset()
        try:
            if mapping:
                compiled = compile_mapping(source)
                self._checked = bool(compiled.expressions)
                self._render = _compile_node(source)
            else:
                expression = compile_expression(source)
                self._checked = True
                self._render = _expression(source, expression.evaluate)
            self.names = frozenset(compiled.variables if mapping else expression.variables)
        except ExpressionError as exc:
            self._error = exc

    def __call__(self, context: Mapping[str, Any]) -> Any:
        """Evaluate (or render) against ``context``.

        Raises:
            ExpressionError: On a compile or evaluation error; never anything else.
        """
        if self._error is not None:
            raise self._error
        # Only the names the expression reads are converted and size-checked: the rest
        # of the context (a large input, every step's output) would only cost time.
        context = {name: context[name] for name in self.names if name in context}
        if self._checked:
            _check(context)
        return self._render(context)


_SCALARS = frozenset({bool, int, float, datetime, timedelta, type(None)})


def _check(context: dict[str, Any]) -> None:
    """`check_context`, faster for plain values (which are all it ever sees here).

    It counts values and characters exactly as `check_context` does; anything else
    (an unsupported type, a context over the limits) is handed to `check_context`,
    which then raises its own error.
    """
    nodes = chars = 0
    pending: list[Any] = [context]
    while pending:
        value = pending.pop()
        nodes += 1
        kind = type(value)
        if kind is str:
            chars += len(value)
        elif kind is dict:
            pending.extend(value.values())
            nodes += len(value)
        elif kind is list:
            pending.extend(value)
        elif kind not in _SCALARS:
            check_context(context)
            return
    if nodes > MAX_INPUT_NODES or chars > MAX_INPUT_BYTES:
        check_context(context)


def _never(context: Mapping[str, Any]) -> Any:
    raise AssertionError("an expression that did not compile was evaluated")


def _expression(source: Any, evaluate: Callable[..., Any]) -> Render:
    match = _EXPRESSION.fullmatch(source) if isinstance(source, str) else None
    read = _reader(match.group(1)) if match is not None else None

    def by_cel(context: Mapping[str, Any]) -> Any:
        return evaluate(context, size_checked=True)

    return by_cel if read is None else _with_fallback(read, by_cel)


def _compile_node(value: Any) -> Render:
    if isinstance(value, str):
        return _compile_string(value)
    if isinstance(value, Mapping):
        items = tuple((str(k), _compile_node(v)) for k, v in value.items())
        return lambda context: {key: render(context) for key, render in items}
    if isinstance(value, list | tuple):
        renders = tuple(_compile_node(v) for v in value)
        return lambda context: [render(context) for render in renders]
    return lambda context: value


def _compile_string(text: str) -> Render:
    if "${" not in text:
        return lambda context: text
    compiled = compile_mapping(text)

    def by_cel(context: Mapping[str, Any]) -> Any:
        return compiled.render(context, size_checked=True)

    whole = _PIECE.fullmatch(text)
    fast = _reader(whole.group(1)) if whole is not None else _template(text)
    return by_cel if fast is None else _with_fallback(fast, by_cel)


def _template(text: str) -> Render | None:
    """Text with plain reads embedded (``"orders/${ input.id }"``), or None."""
    if "$${" in text:
        return None
    parts: list[str | Render] = []
    at = 0
    for piece in _PIECE.finditer(text):
        read = _reader(piece.group(1))
        if read is None:
            return None
        parts.extend((text[at:piece.start()], read))
        at = piece.end()
    parts.append(text[at:])
    if any("${" in part for part in parts if isinstance(part, str)):
        return None  # an expression that is not a plain read
    fixed = tuple(part for part in parts if part != "")

    def render(context: Mapping[str, Any]) -> str:
        return "".join(
            part if isinstance(part, str) else _as_text(part(context)) for part in fixed
        )

    return render


def _with_fallback(fast: Render, slow: Render) -> Render:
    def render(context: Mapping[str, Any]) -> Any:
        try:
            return fast(context)
        except _Fallback:
            return slow(context)

    return render


def _reader(source: str) -> Render | None:
    """A plain read (``vars.total``) or a join of reads and strings (``input.base + '/x'``).

    None if ``source`` is neither. A join of anything but strings is left to CEL.
    """
    terms = [_term(term) for term in _TERM.findall(source)]
    if any(term is None for term in terms):
        return None
    if len(terms) == 1:
        return terms[0]
    parts = tuple(term for term in terms if term is not None)

    def join(context: Mapping[str, Any]) -> str:
        values = [part(context) for part in parts]
        if any(type(value) is not str for value in values):
            raise _Fallback
        return "".join(values)

    return join


def _term(source: str) -> Render | None:
    if source[0] in "'\"":
        text = source[1:-1]
        return lambda context: text
    root, *keys = source.split(".")
    if root not in CONTEXT_NAMES or any(key in _RESERVED for key in keys):
        return None

    def read(context: Mapping[str, Any]) -> Any:
        if root not in context:
            raise _Fallback
        value = context[root]
        for key in keys:
            if type(value) is not dict or key not in value:
                raise _Fallback
            value = value[key]
        return _plain(value)

    return read


def _plain(value: Any) -> Any:
    """A copy of a plain JSON value, as CEL would give it back; `_Fallback` otherwise."""
    kind = type(value)
    if kind is str or kind is bool or kind is float or value is None:
        return value
    if kind is int:
        if value not in _INT64:
            raise _Fallback
        return value
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Fallback
            out[key] = _plain(item)
        return out
    if kind is list:
        return [_plain(item) for item in value]
    raise _Fallback


def _as_text(value: Any) -> str:
    # As schemas.expressions renders templates: non-strings as JSON text. Objects and
    # lists are left to CEL, whose text of an object has its keys in arbitrary order.
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise _Fallback
    return orjson.dumps(value).decode()
