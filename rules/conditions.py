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

import re
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
from schemas.expressions import ExpressionError, compile_expression

Test = Callable[[Any], bool]
Explain = Callable[[Any], str | None]

_ITEM_SCOPE: tuple[str, ...] = ("$i",)
_RANGE_OPS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_REGEX_OPS = {"$mt": 0, "$imt": re.IGNORECASE}
_MAX_REGEX = 1000
# A quantified group that itself holds a quantifier backtracks exponentially on a miss.
_NESTED_QUANTIFIER = re.compile(r"\([^()]*[*+}][^()]*\)[*+{]")


class ConditionError(ValueError):
    """A condition is not valid durable_rules JSON syntax (or our `$expr` extension)."""


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

    Args:
        condition: durable_rules JSON for one event.
        prefix: path segments every field path is read under (e.g. `("data",)`).

    Raises:
        ConditionError: unknown operator, bad operand, a regex that could backtrack
            without bound, or a `$expr` that does not compile.
    """
    if not condition:
        return CompiledCondition(condition, _always, _never_reason, ())
    if not isinstance(condition, Mapping):
        raise ConditionError("a condition must be a JSON object")
    terms = tuple(_terms(condition, prefix))
    if len(terms) == 1:
        return CompiledCondition(condition, terms[0].test, terms[0].explain, terms)
    test, explain = _all_of([(t.test, t.explain) for t in terms])
    return CompiledCondition(condition, test, explain, terms)


def _terms(condition: Mapping[str, Any], prefix: tuple[str, ...]) -> list[Term]:
    """Flatten top-level `$and` and multi-key objects into conjuncts."""
    out: list[Term] = []
    for key, operand in condition.items():
        if key == "$and":
            for part in _as_list(operand, key):
                out.extend(_terms(_as_object(part), prefix))
        else:
            out.append(_term(key, operand, prefix))
    return out


def _term(key: str, operand: Any, prefix: tuple[str, ...]) -> Term:
    test, explain = _compile_pair(key, operand, prefix)
    if not key.startswith("$") or key == "$eq":
        ((path, value),) = ({key: operand} if key != "$eq" else _single(operand, key)).items()
        kind = "eq" if equality_key(value) is not _UNHASHABLE else "other"
        return Term(kind, path, "$eq", value, test, explain)
    if key in _RANGE_OPS:
        ((path, value),) = _single(operand, key).items()
        kind = "range" if type(value) in (int, float, str) else "other"
        return Term(kind, path, key, value, test, explain)
    return Term("other", "", key, operand, test, explain)


def _compile(node: Any, prefix: tuple[str, ...]) -> tuple[Test, Explain]:
    pairs = [_compile_pair(k, v, prefix) for k, v in _as_object(node).items()]
    if not pairs:
        return _always, _never_reason
    return pairs[0] if len(pairs) == 1 else _all_of(pairs)


def _compile_pair(key: str, operand: Any, prefix: tuple[str, ...]) -> tuple[Test, Explain]:
    if not key.startswith("$") or key == "$i" or key.startswith("$i."):
        return _compile_pair("$eq", {key: operand}, prefix)
    if key == "$and":
        return _all_of([_compile(p, prefix) for p in _as_list(operand, key)])
    if key == "$or":
        return _any_of([_compile(p, prefix) for p in _as_list(operand, key)])
    if key == "$expr":
        return _expr(operand, "item" if prefix is _ITEM_SCOPE else "event")
    ((path, value),) = _single(operand, key).items()
    get = field_getter(path, prefix)
    if isinstance(value, Mapping) and key in _COMPARE:
        return _compare_fields(get, path, key, _field_ref(value, prefix))
    if key == "$eq":
        return _equals(get, path, value)
    if key in _RANGE_OPS:
        return _range(get, path, key, value)
    if key == "$neq":
        return _not_equals(get, path, value)
    if key in ("$ex", "$nex"):
        return _presence(get, path, key == "$ex")
    if key in _REGEX_OPS:
        return _regex(get, path, value, _REGEX_OPS[key])
    if key in ("$iany", "$iall"):
        return _items(get, path, _compile(value, _ITEM_SCOPE), key == "$iall")
    raise ConditionError(f"unknown operator {key!r}")


def _as_object(node: Any) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise ConditionError(f"expected a JSON object, got {node!r}")
    return node


def _as_list(node: Any, op: str) -> list[Any]:
    if not isinstance(node, list) or not node:
        raise ConditionError(f"{op} takes a non-empty list")
    return node


def _single(operand: Any, op: str) -> Mapping[str, Any]:
    if not isinstance(operand, Mapping) or len(operand) != 1:
        raise ConditionError(f"{op} takes an object with exactly one field")
    return operand


def field_getter(path: str, prefix: tuple[str, ...] = ()) -> Getter:
    """A function reading a dotted path from an event; `MISSING` when it is not there.

    Raises:
        ConditionError: `$i` used outside an item scope (or missing inside one).
    """
    parts = tuple(path.split("."))
    if prefix is _ITEM_SCOPE:  # inside $iany/$iall the item is spelled `$i`
        if parts[0] != "$i":
            raise ConditionError(f"inside $iany/$iall a path starts with $i, not {path!r}")
        parts = parts[1:]
    elif parts[0] == "$i":
        raise ConditionError("$i names the item only inside $iany/$iall")
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
        raise ConditionError(f"{op} compares with a number or a string, not {bound!r}")
    if bound != bound:
        raise ConditionError(f"{op} cannot compare with NaN")
    compare = _COMPARE[op]

    def test(doc: Any) -> bool:
        found = get(doc)
        return type(found) in kinds and compare(found, bound)

    def explain(doc: Any) -> str | None:
        if test(doc):
            return None
        return _reason(path, get(doc), f"is not {_RANGE_OPS[op]} {_show(bound)}")

    return test, explain


def _field_ref(value: Mapping[str, Any], prefix: tuple[str, ...]) -> tuple[str, Getter]:
    ref = value.get("$m")
    if len(value) != 1 or not isinstance(ref, str):
        raise ConditionError('a compared value is a scalar or {"$m": "other.field"}')
    return ref, field_getter(ref, prefix)


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


def _regex(get: Getter, path: str, pattern: Any, flags: int) -> tuple[Test, Explain]:
    if not isinstance(pattern, str) or len(pattern) > _MAX_REGEX:
        raise ConditionError(f"a regex is a string of at most {_MAX_REGEX} characters")
    if _NESTED_QUANTIFIER.search(pattern):
        raise ConditionError(f"regex {pattern!r} nests quantifiers (unbounded backtracking)")
    try:
        fullmatch = re.compile(pattern, flags).fullmatch
    except re.error as exc:
        raise ConditionError(f"bad regex {pattern!r}: {exc}") from exc

    def test(doc: Any) -> bool:
        found = get(doc)
        return type(found) is str and fullmatch(found) is not None

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
        raise ConditionError(f"$expr: {exc.message}") from exc

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
