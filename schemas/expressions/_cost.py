"""What a CEL evaluation costs, bounded before it runs.

The CEL binding converts every context value it is given into its own values on each
evaluation, and clones a context variable each time the expression reads it, so a read
inside a comprehension costs the variable's size per iteration; `map` and `filter` build
their result by copying the accumulator, quadratic in the range. Measured on this binding:
a `map` inside a `map` of the same 300-item list took 30 s. Nothing can interrupt the
evaluation once it has started (it runs in Rust, holding the GIL), so the bound is set
before: a cost model from the token scan (static, computed once at compile time) applied to
the shape of what the expression reads (measured per evaluation).

Units are about a microsecond on the benchmark machine (bench/expressions.py);
`COST_BUDGET` units hold a partition for at most about 50 ms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.expressions import _scan

COST_BUDGET = 100_000
"""Most cost units one evaluation may take (about 50 ms); over it: `expression_too_costly`."""
GUARANTEED_NODES = 256
"""Every expression that validates runs within budget on inputs of this many values..."""
GUARANTEED_RANGE = 32
"""...whose lists and maps hold at most this many items..."""
GUARANTEED_TEXT = 1024
"""...and whose strings hold at most this many characters."""

# Calibrated with bench/expressions.py on the loaded benchmark machine (one unit ≈ 0.5 µs).
_NODE_WEIGHT = 5  # converting or cloning one value
_ITERATION_DIVISOR = 2  # one comprehension step or accumulator copy
_TEXT_DIVISOR = 96  # characters copied per unit
_ACCUMULATING = frozenset({"map", "filter"})
_GROWING_CALLS = frozenset({"replace", "join", "split", "string"})


@dataclass(frozen=True, slots=True)
class Shape:
    """What a cost depends on: values read, the longest list or map, the longest text."""

    nodes: int
    longest: int
    text: int


@dataclass(frozen=True, slots=True)
class CostModel:
    """The static part: at which comprehension depth each costly thing sits.

    Attributes:
        reads: the macro depth of every read of a context variable.
        macros: `(depth, exponent)` of every comprehension: its cost is the range to that
            power (`all`/`exists`: depth + 1; `map`/`filter`: depth + 2, as they copy their
            accumulator, + 1 more when what they accumulate is itself built, a list or text).
        growth: the macro depth of every `+` and text-building call.
    """

    reads: tuple[int, ...]
    macros: tuple[tuple[int, int], ...]
    growth: tuple[int, ...]

    def units(self, shape: Shape) -> int:
        """The cost bound for inputs of this shape."""
        n, r = shape.nodes, max(shape.longest, 1)
        cost = _NODE_WEIGHT * n
        cost += sum(_NODE_WEIGHT * n * r**depth for depth in self.reads)
        for _, exponent in self.macros:
            cost += r**exponent // _ITERATION_DIVISOR
        size = max(shape.text // _TEXT_DIVISOR, r) + 1  # a `+` copies text or a list
        cost += sum(size * r**depth for depth in self.growth)
        return int(cost)  # int ** int is typed as Any (a negative power is a float)


GUARANTEED = Shape(GUARANTEED_NODES, GUARANTEED_RANGE, GUARANTEED_TEXT)


@dataclass
class _Frame:
    """An open bracket; for a macro call, what was found inside it."""

    macro: str | None
    depth: int
    builds: bool = False  # accumulates something built: a nested map, or input + input
    reads: bool = False
    grows: bool = False


def cost_model(tokens: list[_scan.Token], variables: frozenset[str]) -> CostModel:
    """Scan tokens once for reads, comprehensions and growth, with their nesting."""
    reads: list[int] = []
    macros: list[tuple[int, int]] = []
    growth: list[int] = []
    stack: list[_Frame] = []
    depth = 0
    for i, token in enumerate(tokens):
        if token.kind == "punct" and token.text in "([{":
            is_macro = token.text == "(" and _scan.is_macro_call(tokens, i - 1)
            stack.append(_Frame(tokens[i - 1].text if is_macro else None, depth))
            depth += is_macro
        elif token.kind == "punct" and token.text in ")]}" and stack:
            frame = stack.pop()
            if frame.macro is not None:
                depth -= 1
                _close_macro(frame, stack, macros)
        elif (token.kind == "punct" and token.text == "+") or (
            token.kind == "ident" and token.text in _GROWING_CALLS
        ):
            growth.append(depth)
            _mark(stack, "grows")
        elif token.kind == "ident" and _is_root_read(tokens, i, variables):
            reads.append(depth)
            _mark(stack, "reads")
    return CostModel(tuple(reads), tuple(macros), tuple(growth))


def _close_macro(frame: _Frame, stack: list[_Frame], macros: list[tuple[int, int]]) -> None:
    accumulates = frame.macro in _ACCUMULATING
    # What it accumulates is as large as the input when it is itself a comprehension's
    # result, or built from a read of the context (`input.items + input.items`); a field
    # of the item plus a literal stays small.
    builds = frame.builds or (frame.reads and frame.grows)
    exponent = frame.depth + 1 + accumulates + (accumulates and builds)
    macros.append((frame.depth, exponent))
    if accumulates:
        _mark(stack, "builds")


def _mark(stack: list[_Frame], what: str) -> None:
    """Note `what` on the innermost open comprehension."""
    for frame in reversed(stack):
        if frame.macro is not None:
            setattr(frame, what, True)
            return


def _is_root_read(tokens: list[_scan.Token], i: int, variables: frozenset[str]) -> bool:
    return tokens[i].text in variables and (i == 0 or tokens[i - 1].text != ".")


def read_paths(
    tokens: list[_scan.Token], variables: frozenset[str]
) -> dict[str, frozenset[tuple[str, ...]]]:
    """The dotted paths read under each context variable: `input.a.b` → `("a", "b")`.

    A path stops before a call (`input.items.map(...)` reads `("items",)`), an index or
    anything else; a bare read of the variable is the empty path (the whole value).
    """
    paths: dict[str, set[tuple[str, ...]]] = {}
    for i, token in enumerate(tokens):
        if token.kind != "ident" or not _is_root_read(tokens, i, variables):
            continue
        path: list[str] = []
        j = i + 1
        while (
            j + 1 < len(tokens)
            and tokens[j].text == "."
            and tokens[j + 1].kind == "ident"
            and not (j + 2 < len(tokens) and tokens[j + 2].text == "(")
        ):
            path.append(tokens[j + 1].text)
            j += 2
        paths.setdefault(token.text, set()).add(tuple(path))
    return {name: frozenset(found) for name, found in paths.items()}


def prune(value: Any, paths: frozenset[tuple[str, ...]]) -> Any:
    """Only what the paths read; a read stops at the first value that is not a map.

    The expression sees exactly the same values along its paths, so it evaluates to the
    same result, but the binding converts (and clones) only what is read.
    """
    if () in paths or not isinstance(value, Mapping):
        return value
    heads: dict[str, set[tuple[str, ...]]] = {}
    for path in paths:
        heads.setdefault(path[0], set()).add(path[1:])
    return {key: prune(value[key], frozenset(rest)) for key, rest in heads.items() if key in value}


def measure(context: Mapping[str, Any]) -> Shape:
    """Count the values, the longest list or map and the longest text of a context.

    Stops counting once the values alone are over the budget: the answer is then a refusal
    whatever the rest holds, and walking it would cost the time the budget protects.
    """
    nodes = longest = text = 0
    enough = COST_BUDGET // _NODE_WEIGHT
    pending: list[Any] = list(context.values())
    while pending and nodes <= enough:
        value = pending.pop()
        nodes += 1
        if isinstance(value, str | bytes):
            text = max(text, len(value))
            nodes += len(value) // _TEXT_DIVISOR  # converted and cloned like values
        elif isinstance(value, Mapping):
            longest = max(longest, len(value))
            nodes += len(value)
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            longest = max(longest, len(value))
            pending.extend(value)
    return Shape(nodes, longest, text)
