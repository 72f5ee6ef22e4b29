"""Data mappings: JSON templates whose strings may hold `${ expr }` parts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from schemas.expressions import _scan
from schemas.expressions._expression import (
    Expression,
    ExpressionError,
    check_context,
    compile_expression,
)


@dataclass(frozen=True)
class _Literal:
    value: Any


@dataclass(frozen=True)
class _Whole:
    expression: Expression


@dataclass(frozen=True)
class _Template:
    parts: tuple[str | Expression, ...]


@dataclass(frozen=True)
class _Dict:
    items: tuple[tuple[str, _Node], ...]


@dataclass(frozen=True)
class _List:
    items: tuple[_Node, ...]


_Node = _Literal | _Whole | _Template | _Dict | _List


class CompiledMapping:
    """A mapping with every expression compiled. Build it with `compile_mapping`."""

    __slots__ = ("_root", "expressions")

    def __init__(self, root: _Node, expressions: tuple[Expression, ...]) -> None:
        self._root = root
        self.expressions = expressions

    @property
    def variables(self) -> frozenset[str]:
        """Top-level context names any of its expressions reads."""
        return frozenset().union(*(e.variables for e in self.expressions))

    def render(self, context: Mapping[str, Any], *, size_checked: bool = False) -> Any:
        """Render against a context; see `render_mapping`.

        Raises:
            ExpressionError: an expression failed, or the context is too large.
        """
        if not size_checked and self.expressions:
            check_context(context)
        return _render(self._root, context)


def _render(node: _Node, context: Mapping[str, Any]) -> Any:
    if isinstance(node, _Literal):
        return node.value
    if isinstance(node, _Whole):
        return node.expression.evaluate(context, size_checked=True)
    if isinstance(node, _Template):
        return "".join(
            part if isinstance(part, str) else _as_text(part.evaluate(context, size_checked=True))
            for part in node.parts
        )
    if isinstance(node, _Dict):
        return {key: _render(value, context) for key, value in node.items}
    return [_render(item, context) for item in node.items]


def _as_text(value: Any) -> str:
    # Non-strings interpolate as JSON text (`true`, `null`, `[1,2]`), as JSONata does.
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def compile_mapping(mapping: Any) -> CompiledMapping:
    """Compile every `${ expr }` in a JSON value.

    A string that is exactly `${ expr }` renders to the expression's typed value; a string
    with embedded parts renders to text; `$${` is a literal `${`; all else is literal.

    Raises:
        ExpressionError: the first expression that does not compile.
    """
    found: list[Expression] = []
    root = _compile(mapping, found)
    return CompiledMapping(root, tuple(found))


def _compile(value: Any, found: list[Expression]) -> _Node:
    if isinstance(value, str):
        return _compile_string(value, found)
    if isinstance(value, Mapping):
        return _Dict(tuple((str(k), _compile(v, found)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return _List(tuple(_compile(v, found) for v in value))
    return _Literal(value)


def _compile_string(text: str, found: list[Expression]) -> _Node:
    try:
        parts = _scan.split_template(text)
    except ValueError as exc:
        raise ExpressionError("syntax_error", str(exc)) from exc
    if parts is None:
        return _Literal(text)
    compiled: list[str | Expression] = []
    for part in parts:
        if isinstance(part, tuple):
            expression = compile_expression(part[0])
            found.append(expression)
            compiled.append(expression)
        else:
            compiled.append(part)
    if len(compiled) == 1 and isinstance(compiled[0], Expression):
        return _Whole(compiled[0])
    if all(isinstance(p, str) for p in compiled):
        return _Literal("".join(p for p in compiled if isinstance(p, str)))
    return _Template(tuple(compiled))


def render_mapping(mapping: Any, context: Mapping[str, Any]) -> Any:
    """Compile (cached per expression) and render a mapping in one call.

    Raises:
        ExpressionError: an expression did not compile or did not evaluate.
    """
    return compile_mapping(mapping).render(context)


def mapping_expressions(mapping: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Yield `(json_path, source)` for every `${ expr }` in a mapping, compiled or not.

    Paths continue `path` in JSONPath style (`.key`, `["odd key"]`, `[2]`). An unclosed
    `${` yields its whole string as the source so that compiling it reports the error.
    """
    if isinstance(value := mapping, str):
        try:
            parts = _scan.split_template(value)
        except ValueError:
            yield path, value
            return
        for part in parts or ():
            if isinstance(part, tuple):
                yield path, part[0]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from mapping_expressions(item, path + json_path_key(str(key)))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from mapping_expressions(item, f"{path}[{i}]")


def mapping_variables(mapping: Any) -> set[str]:
    """Top-level context names a mapping reads. Sources that do not compile are skipped."""
    names: set[str] = set()
    for _, source in mapping_expressions(mapping):
        try:
            names |= compile_expression(source).variables
        except ExpressionError:
            continue
    return names


def json_path_key(key: str) -> str:
    """One JSONPath member step: `.name` for identifiers, `["other"]` otherwise."""
    if key.isidentifier():
        return f".{key}"
    return "[" + orjson.dumps(key).decode() + "]"
