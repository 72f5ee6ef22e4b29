"""CEL expressions: compiled once, cached, bounded, and never raising a foreign error."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import cel

from schemas.expressions import _cost, _scan

MAX_SOURCE_BYTES = 4096
"""Longest expression source accepted, in UTF-8 bytes."""
MAX_NESTING = 32
"""Deepest bracket nesting accepted."""
MAX_MACRO_NESTING = 2
"""Deepest nesting of comprehension macros; cost grows as input size to this power."""
MAX_INPUT_NODES = 100_000
"""Most values (scalars, list items, map entries) a context may hold."""
MAX_INPUT_BYTES = 4 * 1024 * 1024
"""Most string and bytes content a context may hold, in characters/bytes."""

CONTEXT_NAMES = frozenset(
    {
        "input",
        "vars",
        "steps",
        "event",
        "events",
        "item",
        "index",
        "now",
        "execution",
        "error",
        "output",
        "signal",
    }
)
"""Top-level names an expression may read; which are bound depends on where it is used."""

# The CEL core functions the engine's CEL library implements natively.
_NATIVE_FUNCTIONS = frozenset(
    {
        "size",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "bool",
        "type",
        "dyn",
        "timestamp",
        "duration",
        "contains",
        "startsWith",
        "endsWith",
        "matches",
        "getFullYear",
        "getMonth",
        "getDayOfYear",
        "getDayOfMonth",
        "getDate",
        "getDayOfWeek",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
        "has",
    }
)


class ExpressionTooCostly(Exception):
    """Raised inside an extension function whose result would outgrow the input limit."""


def _join(items: list[Any], sep: str = "") -> str:
    return sep.join(items)


def _replace(text: str, old: str, new: str, count: int = -1) -> str:
    """`str.replace`, refusing before it builds a string over `MAX_INPUT_BYTES`.

    One replace of a long string by itself squares the length: checked before building.
    """
    grows = len(new) - len(old)
    if grows > 0:
        found = text.count(old) if old else len(text) + 1
        found = found if count < 0 else min(found, count)
        if len(text) + found * grows > MAX_INPUT_BYTES:
            raise ExpressionTooCostly(f"replace would build more than {MAX_INPUT_BYTES} characters")
    return text.replace(old, new, count)


# A few cel-go extension functions, each linear in its input, so cost stays bounded.
EXTENSION_FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "lowerAscii": str.lower,
    "upperAscii": str.upper,
    "trim": str.strip,
    "split": str.split,
    "join": _join,
    "replace": _replace,
    "indexOf": str.find,
    "substring": lambda s, start, end=None: s[start:end],
    "min": lambda *xs: min(xs[0] if len(xs) == 1 else xs),
    "max": lambda *xs: max(xs[0] if len(xs) == 1 else xs),
    "sum": lambda xs: sum(xs),
    "floor": math.floor,
    "ceil": math.ceil,
    "round": round,
    "abs": abs,
}


class ExpressionError(Exception):
    """An expression did not compile or did not evaluate.

    Attributes:
        code: a stable machine-readable reason, e.g. `syntax_error`, `evaluation_error`.
        message: what went wrong, for a person.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Expression:
    """A compiled CEL expression. Build it with `compile_expression`."""

    __slots__ = (
        "_functions",
        "_model",
        "_paths",
        "_program",
        "source",
        "steps_read",
        "variables",
        "vars_read",
    )

    def __init__(self, source: str, program: cel.Program, tokens: list[_scan.Token]) -> None:
        self.source = source
        self._program = program
        referenced = set(program.functions())
        self._functions = {n: f for n, f in EXTENSION_FUNCTIONS.items() if n in referenced}
        read = set(program.variables()) - set(self._functions)
        bound = _scan.bound_names(tokens)
        self.variables: frozenset[str] = frozenset(read - bound)
        self.vars_read: frozenset[str] = _scan.member_reads(tokens, "vars")
        self.steps_read: frozenset[str] = _scan.member_reads(tokens, "steps")
        # A macro variable named like a context variable (`input.map(input, ...)`) hides it
        # in part of the source: that variable is passed whole.
        context_names = frozenset((read - bound) | (bound & CONTEXT_NAMES))
        paths = _cost.read_paths(tokens, context_names)
        whole = frozenset({()})
        self._paths = {n: whole if n in bound else p for n, p in paths.items()}
        self._model = _cost.cost_model(tokens, context_names)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, context: Mapping[str, Any], *, size_checked: bool = False) -> Any:
        """Evaluate against a context of JSON-like values (plus datetimes and timedeltas).

        Args:
            context: the names the expression reads (see `CONTEXT_NAMES`).
            size_checked: the caller already ran `check_context` on this context; skips
                the size walk when one context serves many expressions.

        Returns:
            The value as JSON-compatible Python: timestamps become RFC 3339 strings,
            durations float seconds, bytes base64 text.

        Raises:
            ExpressionError: on any failure; never anything else.
        """
        env = self.narrow(context)
        # The cost check first: it stops walking the input once it is over budget.
        units = self._model.units(_cost.measure(env))
        if units > _cost.COST_BUDGET:
            raise ExpressionError(
                "expression_too_costly",
                f"estimated cost {units} is over the budget of {_cost.COST_BUDGET} "
                "for this input (see docs/language.md, 'Cost')",
            )
        if not size_checked:  # what CEL is given is what must be plain data and in limits
            check_context(env)
        env.update(self._functions)
        try:
            result = self._program.execute(env)
        except Exception as exc:  # the CEL binding raises a zoo of builtin types
            if ExpressionTooCostly.__name__ in str(exc):
                raise ExpressionError("expression_too_costly", _short(exc)) from exc
            raise ExpressionError("evaluation_error", _short(exc)) from exc
        except BaseException as exc:
            # A Rust panic surfaces as pyo3's PanicException, a BaseException.
            if type(exc).__name__ != "PanicException":
                raise
            raise ExpressionError("evaluation_error", _short(exc)) from None
        return to_json(result)

    def narrow(self, context: Mapping[str, Any]) -> dict[str, Any]:
        """Only the parts of the context this expression reads (same result, less to convert)."""
        return {
            name: _cost.prune(context[name], paths)
            for name, paths in self._paths.items()
            if name in context
        }

    def cost(self, shape: _cost.Shape) -> int:
        """The cost bound of evaluating on inputs of this shape, in units."""
        return self._model.units(shape)


def _short(exc: BaseException) -> str:
    text = str(exc).split(". Check ", 1)[0]
    return text if len(text) <= 300 else text[:297] + "..."


@functools.lru_cache(maxsize=8192)
def compile_expression(source: str) -> Expression:
    """Compile CEL source once; the same source returns the cached `Expression`.

    Raises:
        ExpressionError: `too_long`, `too_deep`, `syntax_error`, `unknown_function`, or
            `expression_too_costly` when its cost bound on the guaranteed input shape
            (`GUARANTEED_NODES`, `GUARANTEED_RANGE`, `GUARANTEED_TEXT`) is over the budget.
    """
    if not isinstance(source, str):
        raise ExpressionError("syntax_error", "an expression must be a string")
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise ExpressionError("too_long", f"expression is longer than {MAX_SOURCE_BYTES} bytes")
    if not source.strip():
        raise ExpressionError("syntax_error", "expression is empty")
    tokens = _scan.tokenize(source)
    if _scan.nesting_depth(tokens) > MAX_NESTING:
        raise ExpressionError("too_deep", f"brackets nest deeper than {MAX_NESTING}")
    if _scan.macro_depth(tokens) > MAX_MACRO_NESTING:
        raise ExpressionError(
            "too_deep", f"comprehension macros nest deeper than {MAX_MACRO_NESTING}"
        )
    try:
        program = cel.compile(source)
    except Exception as exc:
        raise ExpressionError("syntax_error", _short(exc)) from exc
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise ExpressionError("syntax_error", _short(exc)) from None
    unknown = [f for f in program.functions() if not _is_known_function(f)]
    if unknown:
        raise ExpressionError("unknown_function", f"unknown function {unknown[0]!r}")
    expression = Expression(source, program, tokens)
    bound = expression.cost(_cost.GUARANTEED)
    if bound > _cost.COST_BUDGET:
        raise ExpressionError(
            "expression_too_costly",
            f"on inputs of {_cost.GUARANTEED_NODES} values with lists of "
            f"{_cost.GUARANTEED_RANGE} items its cost bound is {bound}, over the budget of "
            f"{_cost.COST_BUDGET}; nest fewer comprehensions or read less inside them",
        )
    return expression


def _is_known_function(name: str) -> bool:
    # Operators are named by punctuation (`_+_`, `_[_]`, `!_`) or with `@` (`@in`).
    is_operator = name.startswith("@") or not any(c.isalnum() for c in name)
    return is_operator or name in _NATIVE_FUNCTIONS or name in EXTENSION_FUNCTIONS


def check_context(context: Mapping[str, Any]) -> None:
    """Refuse a context that is too large or holds values CEL must not see.

    Only JSON-like values, datetimes and timedeltas pass: no Python object ever reaches
    the evaluator, so no attribute of one can be read.

    Raises:
        ExpressionError: `input_too_large` or `unsupported_value`.
    """
    nodes = chars = 0
    pending: list[Any] = [context]
    while pending:
        value = pending.pop()
        nodes += 1
        if isinstance(value, str | bytes):
            chars += len(value)
        elif isinstance(value, Mapping):
            pending.extend(value.values())
            nodes += len(value)
        elif isinstance(value, list | tuple):
            pending.extend(value)
        elif value is not None and not isinstance(
            value, bool | int | float | dt.datetime | dt.timedelta
        ):
            raise ExpressionError("unsupported_value", f"{type(value).__name__} is not data")
        if nodes > MAX_INPUT_NODES or chars > MAX_INPUT_BYTES:
            raise ExpressionError("input_too_large", "the expression's input is too large")


def to_json(value: Any) -> Any:
    """Turn a CEL result into JSON-compatible Python."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if hasattr(value, "has_value"):  # cel.OptionalValue
        return to_json(value.value()) if value.has_value() else None
    return str(value)
