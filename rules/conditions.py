"""Compile a durable_rules-style condition into closures, once.

A condition is the JSON that durable_rules takes under `"m"` for one event: `{"field": value}`
for equality, `{"$gt": {"field": 5}}` and friends for comparisons, `$and`/`$or` lists,
`$ex`/`$nex` for presence, `$mt`/`$imt` for regular expressions, `$iany`/`$iall` over arrays
(the item is spelled `$i`), plus headwater's `{"$expr": "<CEL>"}`. Nested fields are dotted
paths (`"customer.tier"`), as durable_rules spells them.

Each node compiles to two closures over the event: `test` (the hot path, a bool) and
`explain` (None on a match, else the reason). Neither raises on any JSON event: a missing field
or a type mismatch is a non-match. Comparisons are typed as JSON is: a string never equals a
number and a boolean is not a number (durable_rules coerces both; see docs/rules.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rules.values import (
    _UNHASHABLE,
    MISSING,
    Getter,
    equality_key,
    json_equal,
    path_getter,
)
from schemas.definitions.conditions import (
    All,
    AnyOf,
    Compare,
    ConditionError,
    ConditionProblem,
    Exists,
    Expr,
    FieldRef,
    Match,
    Node,
    parse_condition,
)
from schemas.expressions import ExpressionError, compile_expression, compile_regex

Test = Callable[[Any], bool]
Explain = Callable[[Any], str | None]

_ITEM_SCOPE: tuple[str, ...] = ("$i",)
_RANGE_OPS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


@dataclass(frozen=True, slots=True)
class Term:
    """One top-level conjunct, as the index sees it.

    Attributes:
        kind: `"eq"` (hashable equality), `"range"` (number or string bound) or `"other"`.
        path: the field path (`""` for `"other"`).
        op: the operator (`"$eq"`, `"$gt"`, ...).
        value: the constant compared with.
        test: the conjunct's own predicate.
        explain: its reason-giving twin.
    """

    kind: str
    path: str
    op: str
    value: Any
    test: Test
    explain: Explain


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A condition compiled once: `test(event) -> bool`, `explain(event) -> reason | None`.

    `terms` are the top-level conjuncts the rule index files the rule under.
    """

    source: Mapping[str, Any] | None
    test: Test
    explain: Explain
    terms: tuple[Term, ...]


def _always(_: Any) -> bool:
    return True


def _never_reason(_: Any) -> str | None:
    return None


def compile_condition(
    condition: Mapping[str, Any] | None, prefix: tuple[str, ...] = ()
) -> CompiledCondition:
    """Compile a condition; `None` or `{}` matches every event.

    The condition is parsed by `schemas.definitions.parse_condition`, the parser the
    validator runs, so a condition the validator accepts always compiles here; the only
    leniency is that an object may hold several fields (an implicit `$and`, as
    durable_rules allows), which published definitions never do.

    Args:
        condition: durable_rules JSON for one event.
        prefix: path segments every field path is read under (e.g. `("data",)`).

    Raises:
        ConditionError: with every problem and its JSON path (unknown operator, bad
            operand, a regex RE2 cannot run, a `$expr` that does not compile or is too
            costly).
    """
    if not condition:
        return CompiledCondition(condition, _always, _never_reason, ())
    if not isinstance(condition, Mapping):
        raise ConditionError(
            [ConditionProblem("$", "invalid_condition", "a condition must be a JSON object")]
        )
    node = parse_condition(_split_objects(condition))
    terms = tuple(_term(part, prefix) for part in _conjuncts(node))
    if len(terms) == 1:
        return CompiledCondition(condition, terms[0].test, terms[0].explain, terms)
    test, explain = _all_of([(t.test, t.explain) for t in terms])
    return CompiledCondition(condition, test, explain, terms)


def _split_objects(condition: Any) -> Any:
    """Rewrite multi-field objects as `$and` lists, wherever a condition stands."""
    if not isinstance(condition, Mapping):
        return condition
    if len(condition) > 1:
        return {"$and": [_split_objects({k: v}) for k, v in condition.items()]}
    for key, operand in condition.items():
        if key in ("$and", "$or") and isinstance(operand, list):
            return {key: [_split_objects(part) for part in operand]}
        if key in ("$iany", "$iall") and isinstance(operand, Mapping) and len(operand) == 1:
            ((field, inner),) = operand.items()
            return {key: {field: _split_objects(inner)}}
    return condition


def _conjuncts(node: Node) -> list[Node]:
    """Flatten top-level `$and`s into the conjuncts the index files the rule under."""
    if isinstance(node, All):
        return [part for child in node.conditions for part in _conjuncts(child)]
    return [node]


def _term(node: Node, prefix: tuple[str, ...]) -> Term:
    test, explain = _compile(node, prefix)
    if isinstance(node, Compare) and not isinstance(node.value, FieldRef):
        if node.op == "$eq":
            kind = "eq" if equality_key(node.value) is not _UNHASHABLE else "other"
            return Term(kind, node.field, "$eq", node.value, test, explain)
        if node.op in _RANGE_OPS:
            kind = "range" if type(node.value) in (int, float, str) else "other"
            return Term(kind, node.field, node.op, node.value, test, explain)
    return Term("other", "", type(node).__name__, node, test, explain)


def _compile(node: Node, prefix: tuple[str, ...]) -> tuple[Test, Explain]:
    """Closures for one parsed node; total: a parsed node always compiles."""
    if isinstance(node, All):
        return _all_of([_compile(part, prefix) for part in node.conditions])
    if isinstance(node, AnyOf):
        return _any_of([_compile(part, prefix) for part in node.conditions])
    if isinstance(node, Expr):
        return _expr(node.source, "item" if prefix is _ITEM_SCOPE else "event")
    get = field_getter(node.field, prefix)
    if isinstance(node, Compare):
        return _compare(node, get, prefix)
    if isinstance(node, Exists):
        return _presence(get, node.field, node.present)
    if isinstance(node, Match):
        return _regex(get, node.field, node.pattern, node.ignore_case)
    inner = _compile(node.condition, _ITEM_SCOPE)
    return _items(get, node.field, inner, node.quantifier == "all")


def _compare(node: Compare, get: Getter, prefix: tuple[str, ...]) -> tuple[Test, Explain]:
    if isinstance(node.value, FieldRef):
        other = (node.value.field, field_getter(node.value.field, prefix))
        return _compare_fields(get, node.field, node.op, other)
    if node.op == "$eq":
        return _equals(get, node.field, node.value)
    if node.op == "$neq":
        return _not_equals(get, node.field, node.value)
    return _range(get, node.field, node.op, node.value)


def _refused(message: str) -> ConditionError:
    return ConditionError([ConditionProblem("$", "invalid_condition", message)])


def field_getter(path: str, prefix: tuple[str, ...] = ()) -> Getter:
    """A function reading a dotted path from an event; `MISSING` when it is not there.

    Raises:
        ConditionError: `$i` used outside an item scope (or missing inside one).
    """
    parts = tuple(path.split("."))
    if prefix is _ITEM_SCOPE:  # inside $iany/$iall the item is spelled `$i`
        if parts[0] != "$i":
            raise _refused(f"inside $iany/$iall a path starts with $i, not {path!r}")
        parts = parts[1:]
    elif parts[0] == "$i":
        raise _refused("$i names the item only inside $iany/$iall")
    else:
        parts = prefix + parts
    return path_getter(parts)


def _equals(get: Getter, path: str, value: Any) -> tuple[Test, Explain]:
    key = equality_key(value)
    if key is _UNHASHABLE:

        def test(doc: Any) -> bool:
            return json_equal(get(doc), value)
    elif type(value) is str:

        def test(doc: Any) -> bool:
            return bool(get(doc) == value)
    else:

        def test(doc: Any) -> bool:
            return bool(equality_key(get(doc)) == key)

    def explain(doc: Any) -> str | None:
        return None if test(doc) else _reason(path, get(doc), f"is not {_show(value)}")

    return test, explain


def _not_equals(get: Getter, path: str, value: Any) -> tuple[Test, Explain]:
    # As durable_rules: an absent or null field is not "different", it is unknown.
    def test(doc: Any) -> bool:
        found = get(doc)
        return found is not MISSING and found is not None and not json_equal(found, value)

    def explain(doc: Any) -> str | None:
        return None if test(doc) else _reason(path, get(doc), f"is {_show(value)} or unknown")

    return test, explain


def _range(get: Getter, path: str, op: str, bound: Any) -> tuple[Test, Explain]:
    kind = type(bound)
    if kind is str:
        kinds: tuple[type, ...] = (str,)
    elif kind is int or kind is float:
        kinds = (int, float)
    else:
        raise _refused(f"{op} compares with a number or a string, not {bound!r}")
    if bound != bound:
        raise _refused(f"{op} cannot compare with NaN")
    compare = _COMPARE[op]

    def test(doc: Any) -> bool:
        found = get(doc)
        return type(found) in kinds and compare(found, bound)

    def explain(doc: Any) -> str | None:
        if test(doc):
            return None
        return _reason(path, get(doc), f"is not {_RANGE_OPS[op]} {_show(bound)}")

    return test, explain


def _compare_fields(
    get: Getter, path: str, op: str, other: tuple[str, Getter]
) -> tuple[Test, Explain]:
    """`field <op> other.field`: typed as constants are, a missing side is a non-match."""
    name, get_other = other
    compare = _COMPARE[op]

    def test(doc: Any) -> bool:
        left, right = get(doc), get_other(doc)
        if left is MISSING or right is MISSING:
            return False
        if op == "$eq" or op == "$neq":
            return json_equal(left, right) is (op == "$eq") and (op == "$eq" or left is not None)
        return _ordered(left, right) and compare(left, right)

    def explain(doc: Any) -> str | None:
        return None if test(doc) else _reason(path, get(doc), f"is not {op} $.{name}")

    return test, explain


def _ordered(left: Any, right: Any) -> bool:
    kl, kr = type(left), type(right)
    if kl is str:
        return kr is str
    return (kl is int or kl is float) and (kr is int or kr is float)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: json_equal(a, b),
    "$neq": lambda a, b: not json_equal(a, b),
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


def _presence(get: Getter, path: str, present: bool) -> tuple[Test, Explain]:
    def test(doc: Any) -> bool:
        return (get(doc) is not MISSING) is present

    def explain(doc: Any) -> str | None:
        return None if test(doc) else f"$.{path}: {'missing' if present else 'present'}"

    return test, explain


def _regex(get: Getter, path: str, pattern: str, ignore_case: bool) -> tuple[Test, Explain]:
    try:
        matches = compile_regex(pattern, ignore_case=ignore_case)
    except ExpressionError as exc:
        raise _refused(exc.message) from None

    def test(doc: Any) -> bool:
        found = get(doc)
        return type(found) is str and matches(found)

    def explain(doc: Any) -> str | None:
        return None if test(doc) else _reason(path, get(doc), f"does not match /{pattern}/")

    return test, explain


def _items(
    get: Getter, path: str, inner: tuple[Test, Explain], every: bool
) -> tuple[Test, Explain]:
    item_test = inner[0]
    # As durable_rules: $iall over an empty array is a non-match.
    if every:

        def test(doc: Any) -> bool:
            found = get(doc)
            return type(found) is list and bool(found) and all(map(item_test, found))
    else:

        def test(doc: Any) -> bool:
            found = get(doc)
            return type(found) is list and any(map(item_test, found))

    def explain(doc: Any) -> str | None:
        word = "every" if every else "any"
        return None if test(doc) else _reason(path, get(doc), f"fails for {word} item")

    return test, explain


def _expr(source: Any, name: str) -> tuple[Test, Explain]:
    try:
        expression = compile_expression(source)
    except ExpressionError as exc:
        raise _refused(f"$expr: {exc.message}") from exc

    def run(doc: Any) -> Any:
        try:
            return expression.evaluate({name: doc})
        except ExpressionError as exc:
            return exc
        except Exception as exc:
            return ExpressionError("evaluation_error", str(exc))

    def test(doc: Any) -> bool:
        return run(doc) is True

    def explain(doc: Any) -> str | None:
        result = run(doc)
        if result is True:
            return None
        if isinstance(result, ExpressionError):
            return f"$expr {source!r}: {result.message}"
        return f"$expr {source!r} gave {_show(result)}"

    return test, explain


def _all_of(pairs: list[tuple[Test, Explain]]) -> tuple[Test, Explain]:
    tests = tuple(p[0] for p in pairs)
    explains = tuple(p[1] for p in pairs)
    if len(tests) == 2:
        first, second = tests

        def test(doc: Any) -> bool:
            return first(doc) and second(doc)
    else:

        def test(doc: Any) -> bool:
            return all(t(doc) for t in tests)

    def explain(doc: Any) -> str | None:
        return next((r for e in explains if (r := e(doc)) is not None), None)

    return test, explain


def _any_of(pairs: list[tuple[Test, Explain]]) -> tuple[Test, Explain]:
    tests = tuple(p[0] for p in pairs)
    explains = tuple(p[1] for p in pairs)

    def test(doc: Any) -> bool:
        return any(t(doc) for t in tests)

    def explain(doc: Any) -> str | None:
        if test(doc):
            return None
        return "none of: " + "; ".join(str(e(doc)) for e in explains)

    return test, explain


def _reason(path: str, found: Any, what: str) -> str:
    if found is MISSING:
        return f"$.{path}: missing"
    return f"$.{path}: {_show(found)} {what}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
