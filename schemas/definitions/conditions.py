"""Conditions on one event, in the JSON syntax of durable_rules rulesets.

A condition is what durable_rules puts under `"m"` in a rule: `{"field": value}` for
equality, `{"$gt": {"field": 5}}` (also `$gte`, `$lt`, `$lte`, `$neq`), `{"$ex": {"f": 1}}`
and `{"$nex": {"f": 1}}` for presence, `{"$mt": {"f": "regex"}}` (`$imt` ignores case),
`{"$and": [...]}`, `{"$or": [...]}`, and `{"$iall"|"$iany": {"list": <condition on $i>}}`
for list items, where `$i` is the item and `$i.x` a field of it. Nested fields are dotted
paths (`"customer.tier"`), as durable_rules spells `m.customer.tier`. A right-hand side
`{"$m": "other.field"}` compares with another field of the same event.

Our one extension: `{"$expr": "<CEL>"}`, a computed condition with the event bound to `event`.
Not supported: durable_rules arithmetic (`$add`, `$sub`, `$mul`, `$div`) and state (`$s`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from schemas.expressions import (
    ExpressionError,
    compile_expression,
    compile_regex,
    json_path_key,
)

COMPARISONS = frozenset({"$eq", "$neq", "$gt", "$gte", "$lt", "$lte"})
_FIELD = re.compile(r"^(?:\$i|[^$.][^.]*)(?:\.[^.]+)*$")
_ITEM_FIELD = re.compile(r"^\$i(?:\.[^.]+)*$")


@dataclass(frozen=True)
class FieldRef:
    """The right-hand side `{"$m": "field"}`: another field of the same event."""

    field: str


@dataclass(frozen=True)
class Compare:
    """`field <op> value`; `op` is one of `COMPARISONS` (`$eq` is plain equality)."""

    op: str
    field: str
    value: Any


@dataclass(frozen=True)
class Exists:
    """`$ex` (present=True) or `$nex` (present=False) on a field."""

    field: str
    present: bool


@dataclass(frozen=True)
class Match:
    """`$mt` / `$imt`: the field is a string that fully matches the regex."""

    field: str
    pattern: str
    ignore_case: bool


@dataclass(frozen=True)
class Items:
    """`$iall` / `$iany`: every / some item of a list field satisfies `condition`."""

    quantifier: str
    field: str
    condition: Node


@dataclass(frozen=True)
class All:
    """`$and`."""

    conditions: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """`$or`."""

    conditions: tuple[Node, ...]


@dataclass(frozen=True)
class Expr:
    """`$expr`: a CEL expression over `event`."""

    source: str


Node = Compare | Exists | Match | Items | All | AnyOf | Expr


@dataclass(frozen=True)
class ConditionProblem:
    """One thing wrong in a condition: JSON path, code and message."""

    path: str
    code: str
    message: str


class ConditionError(ValueError):
    """A condition does not parse; `problems` lists every reason."""

    def __init__(self, problems: list[ConditionProblem] | str) -> None:
        if isinstance(problems, str):  # one reason, where no path applies
            problems = [ConditionProblem("$", "invalid_condition", problems)]
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


def parse_condition(condition: Any, path: str = "$") -> Node:
    """Parse a condition into a tree.

    Raises:
        ConditionError: with every problem found, each with its JSON path.
    """
    problems: list[ConditionProblem] = []
    node = _Parser(problems, in_items=False).node(condition, path)
    if problems or node is None:
        raise ConditionError(problems)
    return node


def check_condition(condition: Any, path: str = "$") -> list[ConditionProblem]:
    """Every problem in a condition, or an empty list."""
    problems: list[ConditionProblem] = []
    _Parser(problems, in_items=False).node(condition, path)
    return problems


def condition_fields(node: Node) -> set[str]:
    """Event fields a parsed condition reads (item fields inside `$iall`/`$iany` excluded)."""
    if isinstance(node, All | AnyOf):
        return set().union(*(condition_fields(c) for c in node.conditions))
    if isinstance(node, Compare):
        extra = {node.value.field} if isinstance(node.value, FieldRef) else set()
        return {node.field} | extra
    if isinstance(node, Exists | Match | Items):
        return {node.field}
    return set()


class _Parser:
    def __init__(self, problems: list[ConditionProblem], *, in_items: bool) -> None:
        self.problems = problems
        self.in_items = in_items

    def fail(self, path: str, code: str, message: str) -> None:
        self.problems.append(ConditionProblem(path, code, message))

    def node(self, value: Any, path: str) -> Node | None:
        if not isinstance(value, dict) or len(value) != 1:
            self.fail(
                path,
                "invalid_condition",
                "a condition is an object with exactly one operator or field; "
                "combine several with $and",
            )
            return None
        ((key, arg),) = value.items()
        if not isinstance(key, str):
            self.fail(path, "invalid_condition", "condition keys are strings")
            return None
        here = path + json_path_key(key)
        if key in ("$and", "$or"):
            return self.junction(key, arg, here)
        if key == "$expr":
            return self.expr(arg, here)
        if key.startswith("$") and key != "$i" and not key.startswith("$i."):
            return self.operator(key, arg, here)
        return self.compare("$eq", key, arg, here)

    def junction(self, key: str, arg: Any, path: str) -> Node | None:
        if not isinstance(arg, list) or not arg:
            self.fail(path, "invalid_condition", f"{key} takes a non-empty list of conditions")
            return None
        parts = [self.node(item, f"{path}[{i}]") for i, item in enumerate(arg)]
        if any(p is None for p in parts):
            return None
        kept = tuple(p for p in parts if p is not None)
        return All(kept) if key == "$and" else AnyOf(kept)

    def expr(self, arg: Any, path: str) -> Node | None:
        if not isinstance(arg, str):
            self.fail(path, "invalid_expression", "$expr takes a CEL expression string")
            return None
        try:
            compile_expression(arg)
        except ExpressionError as exc:
            self.fail(path, "invalid_expression", f"{exc.code}: {exc.message}")
            return None
        return Expr(arg)

    def operator(self, key: str, arg: Any, path: str) -> Node | None:
        known = COMPARISONS | {"$ex", "$nex", "$mt", "$imt", "$iall", "$iany"}
        if key not in known:
            self.fail(path, "unknown_operator", f"{key} is not a supported operator")
            return None
        if not isinstance(arg, dict) or len(arg) != 1:
            self.fail(path, "invalid_condition", f"{key} takes an object with exactly one field")
            return None
        ((field, operand),) = arg.items()
        here = path + json_path_key(str(field))
        if key in COMPARISONS:
            return self.compare(key, field, operand, here)
        if not self.field_ok(field, here):
            return None
        if key in ("$ex", "$nex"):
            return Exists(field, key == "$ex")
        if key in ("$mt", "$imt"):
            return self.match(key, field, operand, here)
        inner = _Parser(self.problems, in_items=True).node(operand, here)
        return None if inner is None else Items(key[2:], field, inner)

    def match(self, key: str, field: str, pattern: Any, path: str) -> Node | None:
        if not isinstance(pattern, str):
            self.fail(path, "invalid_regex", f"{key} takes a regular expression string")
            return None
        try:
            compile_regex(pattern, ignore_case=key == "$imt")
        except ExpressionError as exc:
            self.fail(path, "invalid_regex", exc.message)
            return None
        return Match(field, pattern, key == "$imt")

    def compare(self, op: str, field: Any, value: Any, path: str) -> Node | None:
        if not self.field_ok(field, path):
            return None
        if isinstance(value, dict):
            ref = value.get("$m")
            if len(value) != 1 or not isinstance(ref, str):
                self.fail(
                    path,
                    "unknown_operator",
                    'a compared value is a scalar or {"$m": "other.field"}',
                )
                return None
            # The other field is read where this one is: the item inside $iall/$iany.
            if not self.field_ok(ref, path + '["$m"]'):
                return None
            return Compare(op, field, FieldRef(ref))
        if isinstance(value, list):
            self.fail(path, "invalid_condition", "compare with a scalar; use $iany for lists")
            return None
        if op not in ("$eq", "$neq") and (value is None or isinstance(value, bool)):
            self.fail(path, "invalid_condition", f"{op} compares numbers or strings")
            return None
        if isinstance(value, float) and value != value:
            self.fail(path, "invalid_condition", f"{op} cannot compare with NaN")
            return None
        if value is not None and not isinstance(value, str | int | float):
            self.fail(path, "invalid_condition", "compare with a JSON scalar")
            return None
        return Compare(op, field, value)

    def field_ok(self, field: Any, path: str) -> bool:
        if not isinstance(field, str) or not _FIELD.match(field):
            self.fail(path, "invalid_field", f"{field!r} is not a field path like a.b.c")
            return False
        if field.startswith("$i") and not self.in_items:
            self.fail(path, "invalid_field", "$i names a list item; use it inside $iall/$iany")
            return False
        if self.in_items and not _ITEM_FIELD.match(field):
            self.fail(path, "invalid_field", "inside $iall/$iany, fields are $i or $i.<name>")
            return False
        return True


def condition_expressions(
    condition: Any, path: str = "$", *, in_items: bool = False
) -> list[tuple[str, str, bool]]:
    """`(json_path, source, in_items)` of every `$expr` in a condition, at any depth.

    `in_items` is true inside `$iall`/`$iany`, where the expression reads the list item
    as `item` instead of the event as `event`.
    """
    found: list[tuple[str, str, bool]] = []
    if isinstance(condition, dict):
        for key, value in condition.items():
            here = path + json_path_key(str(key))
            if key == "$expr" and isinstance(value, str):
                found.append((here, value, in_items))
            else:
                inner = in_items or key in ("$iall", "$iany")
                found += condition_expressions(value, here, in_items=inner)
    elif isinstance(condition, list):
        for i, item in enumerate(condition):
            found += condition_expressions(item, f"{path}[{i}]", in_items=in_items)
    return found
