"""Why a condition holds or not, as a tree: each node's operator, field, value and result.

`compile_condition` gives the hot path a bool and a one-line reason; this module gives people
the whole picture (`POST /rules/test`, the firings a rule records). A condition is compiled
into an `Explainer` once; `explain(event)` walks it and returns a `ConditionNode` per operator.
Every leaf's result comes from `compile_condition` of that leaf, so the tree can never
disagree with what the engine decides; `$and`/`$or` combine their children's results (all
children are evaluated, not short-circuited, so the tree shows every value).

Conventions: `actual` is the value read at `path`, `None` when the field is missing (JSON
has no "missing"); for `$ex`/`$nex` it is whether the field is present. Inside `$iany`/
`$iall` each item is a child node (`op` `$item`, path `field[i]`, at most `MAX_ITEMS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.conditions import compile_condition
from rules.values import MISSING, path_getter
from schemas.expressions import ExpressionError, compile_expression

__all__ = ["MAX_ITEMS", "ConditionNode", "Explainer", "compile_explainer"]

MAX_ITEMS = 20
"""Array items shown under an `$iany`/`$iall` node (the result always counts all)."""

_Read = Callable[[Any], Any]
_Test = Callable[[Any], bool]


@dataclass(slots=True)  # not frozen: built on every firing, and frozen __init__ costs
class ConditionNode:
    """One operator of a condition, evaluated against one event.

    Attributes:
        op: `$and`, `$or`, `$eq` (a plain `{"field": value}`), `$neq`, `$gt`, ..., `$ex`,
            `$nex`, `$mt`, `$imt`, `$iany`, `$iall`, `$item` (one array item), `$expr`.
        path: the field path, or None for `$and`/`$or`/`$expr`.
        expected: the operand as written (for a field comparison `{"$m": other, "value": v}`).
        actual: the value found (None when missing; presence for `$ex`/`$nex`).
        result: whether this node holds.
        children: sub-conditions (`$and`, `$or`, items of `$iany`/`$iall`, ...).
    """

    op: str
    path: str | None
    expected: Any
    actual: Any
    result: bool
    children: tuple[ConditionNode, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The node as the API returns it."""
        return {"op": self.op, "path": self.path, "expected": self.expected,
                "actual": self.actual, "result": self.result,
                "children": [c.as_json() for c in self.children]}

    def leaves(self) -> list[ConditionNode]:
        """Every node without children, depth first."""
        if not self.children:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]


@dataclass(frozen=True, slots=True)
class _Plan:
    op: str
    path: str | None
    expected: Any
    read: _Read
    test: _Test
    children: tuple[_Plan, ...] = ()
    combine: str = ""  # "all", "any", "items" or "" (a leaf)
    ref: _Read | None = None  # the other field of a field comparison

    def run(self, doc: Any, known: bool | None = None) -> ConditionNode:
        # `known`: the engine already found this node true (a firing), so the conjuncts
        # under it are true too and are not evaluated again; `$or` branches still are.
        if self.combine in ("all", "any"):
            below = known if self.combine == "all" else None
            kids = tuple(child.run(doc, below) for child in self.children)
            holds = all if self.combine == "all" else any
            result = known if known is not None else holds(k.result for k in kids)
            return ConditionNode(self.op, self.path, self.expected, None, result, kids)
        actual = self.read(doc)
        children: tuple[ConditionNode, ...] = ()
        if self.combine == "items" and type(actual) is list:
            (inner,) = self.children
            children = tuple(
                ConditionNode("$item", f"{self.path}[{i}]", None, _shown(item),
                              inner.test(item), (inner.run(item),))
                for i, item in enumerate(actual[:MAX_ITEMS]))
        expected = self.expected
        if self.ref is not None:
            expected = {**self.expected, "value": _shown(self.ref(doc))}
        result = known if known is not None else self.test(doc)
        return ConditionNode(self.op, self.path, expected, _shown(actual), result, children)


@dataclass(frozen=True, slots=True)
class Explainer:
    """A condition compiled for explaining; `explain(event)` is the tree."""

    source: Mapping[str, Any] | None
    _plan: _Plan | None = field(repr=False, default=None)

    def explain(self, event: Any, *, matched: bool = False) -> ConditionNode | None:
        """The condition's tree for `event`; None when the rule has no condition.

        Args:
            matched: the condition is known to hold for `event` (a firing): conjuncts are
                not evaluated again, only `$or` branches and array items are.
        """
        if self._plan is None:
            return None
        return self._plan.run(event, True if matched else None)


def compile_explainer(condition: Mapping[str, Any] | None) -> Explainer:
    """Compile a condition for explaining (once per rule).

    Raises:
        ConditionError: as `compile_condition` does for the same condition.
    """
    compile_condition(condition)  # the same errors, before anything else
    if not condition:
        return Explainer(condition)
    return Explainer(condition, _node(condition, item=False))


def _node(node: Any, item: bool) -> _Plan:
    if not isinstance(node, Mapping):  # compile_condition refused it already
        raise TypeError(f"expected a JSON object, got {node!r}")
    pairs = [_pair(key, operand, item) for key, operand in node.items()]
    if len(pairs) == 1:
        return pairs[0]
    return _Plan("$and", None, None, _none, _leaf_test(node, item), tuple(pairs), "all")


def _pair(key: str, operand: Any, item: bool) -> _Plan:
    condition = {key: operand}
    test = _leaf_test(condition, item)
    if key in ("$and", "$or"):
        parts = tuple(_node(part, item) for part in operand)
        return _Plan(key, None, None, _none, test, parts, "all" if key == "$and" else "any")
    if key == "$expr":
        return _Plan(key, None, operand, _expression(operand, item), test)
    if not key.startswith("$") or key == "$i" or key.startswith("$i."):
        return _Plan("$eq", key, operand, _getter(key, item), test)
    ((path, value),) = operand.items()
    read = _getter(path, item)
    if key in ("$ex", "$nex"):
        return _Plan(key, path, value, _present(read), test)
    if key in ("$iany", "$iall"):
        return _Plan(key, path, value, read, test, (_node(value, item=True),), "items")
    if isinstance(value, Mapping) and "$m" in value:
        return _Plan(key, path, dict(value), read, test, ref=_getter(str(value["$m"]), item))
    return _Plan(key, path, value, read, test)


def _leaf_test(condition: Mapping[str, Any], item: bool) -> _Test:
    if not item:
        return compile_condition(condition).test
    # Inside $iany/$iall the item is `$i`: test one item as the only element of an array,
    # so the result is exactly what the engine's item scope gives.
    wrapped = compile_condition({"$iany": {"items": condition}}).test
    return lambda one: wrapped({"items": [one]})


def _getter(path: str, item: bool) -> _Read:
    parts = tuple(path.split("."))
    if item:
        parts = parts[1:]  # `$i.field` reads `field` of the item; `$i` is the item
    return path_getter(parts)


def _present(read: _Read) -> _Read:
    return lambda doc: read(doc) is not MISSING


def _expression(source: Any, item: bool) -> _Read:
    expression = compile_expression(source)
    name = "item" if item else "event"

    def value(doc: Any) -> Any:
        try:
            return expression.evaluate({name: doc})
        except ExpressionError as exc:
            return {"error": exc.code, "message": exc.message}
        except Exception as exc:  # a CEL runtime error is a non-match, never a crash
            return {"error": "evaluation_error", "message": str(exc)}

    return value


def _none(_: Any) -> Any:
    return None


def _shown(value: Any) -> Any:
    return None if value is MISSING else value
