"""Conditions as constraints per field, to decide implication and contradiction by reasoning.

A condition becomes a disjunction of conjunctions (`dnf`); each conjunction is a `Conj`: per
field path a `FieldC` (presence, the JSON types allowed, an equality, excluded values, a number
interval, a string interval, regexes), plus opaque atoms (`$iany`, `$iall`, `$expr`, field
comparisons) that are only ever compared by their text. The semantics are the engine's
(`rules.conditions`): typed equality, `$neq` needs the field present and not null, ranges
compare numbers with numbers and strings with strings, `$mt` matches strings only.

Every answer is sound and may be incomplete: `implies(a, b)` True means every event matching
`a` matches `b`; `satisfiable(c)` False means no event matches `c`. When in doubt they say
False and True respectively, so a finding built on them is never wrong, only sometimes missed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.values import equality_key
from schemas.expressions import ExpressionError, compile_regex

__all__ = ["Atom", "Conj", "FieldC", "canonical", "conj_of", "disjoint_dnf", "dnf",
           "implies_dnf", "jtype", "satisfiable"]

Atom = tuple[str, str, Any]
"""(path, op, value); op one of eq, neq, gt, gte, lt, lte, ex, nex, mt, imt, opaque."""

MAX_TERMS = 64
_ALL_TYPES = frozenset({"str", "num", "bool", "null", "list", "obj"})
_RANGE = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}
_REGEX_META = re.compile(r"[.^$*+?{}\[\]\\|()]")


def jtype(value: Any) -> str:
    """The JSON type of a value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    if isinstance(value, str):
        return "str"
    if value is None:
        return "null"
    return "list" if isinstance(value, list) else "obj"


def canonical(value: Any) -> str:
    """A text that two equal JSON values share."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# ---- from JSON to disjunctive normal form --------------------------------------------------

def dnf(condition: Mapping[str, Any] | None) -> list[tuple[Atom, ...]] | None:
    """The condition as a list of conjunctions of atoms (OR of ANDs); `[()]` is "always".

    None when it would take more than `MAX_TERMS` conjunctions (then nothing is claimed).
    """
    if not condition:
        return [()]
    return _node(condition)


def _node(node: Any) -> list[tuple[Atom, ...]] | None:
    out: list[tuple[Atom, ...]] | None = [()]
    for key, operand in node.items():
        part = _pair(key, operand)
        if out is None or part is None:
            return None
        out = _product(out, part)
    return out


def _product(a: list[tuple[Atom, ...]] | None, b: list[tuple[Atom, ...]] | None
             ) -> list[tuple[Atom, ...]] | None:
    if a is None or b is None or len(a) * len(b) > MAX_TERMS:
        return None
    return [x + y for x in a for y in b]


def _pair(key: str, operand: Any) -> list[tuple[Atom, ...]] | None:
    if key == "$and":
        out: list[tuple[Atom, ...]] | None = [()]
        for part in operand:
            out = _product(out, _node(part))
        return out
    if key == "$or":
        union: list[tuple[Atom, ...]] = []
        for part in operand:
            sub = _node(part)
            if sub is None or len(union) + len(sub) > MAX_TERMS:
                return None
            union.extend(sub)
        return union
    return [(_atom(key, operand),)]


def _atom(key: str, operand: Any) -> Atom:
    if not key.startswith("$"):
        return _eq(key, operand)
    if key in ("$expr", "$iany", "$iall"):
        return ("", "opaque", canonical({key: operand}))
    ((path, value),) = operand.items()
    if isinstance(value, Mapping):  # a field comparison {"$m": ...}
        return ("", "opaque", canonical({key: operand}))
    if key == "$eq":
        return _eq(path, value)
    if key in _RANGE:
        return (path, _RANGE[key], value)
    if key == "$mt" and isinstance(value, str) and not _REGEX_META.search(value):
        return (path, "eq", value)  # a full match of a literal is equality on strings
    return (path, key[1:], value)


def _eq(path: str, value: Any) -> Atom:
    if isinstance(value, list | dict):
        return ("", "opaque", canonical({path: value}))
    return (path, "eq", value)


# ---- one field's constraint ------------------------------------------------------------------

_NONE = object()


@dataclass(slots=True)
class _Interval:
    lo: Any = None
    lo_open: bool = False
    hi: Any = None
    hi_open: bool = False

    def bound(self, op: str, value: Any) -> None:
        if op in ("gt", "gte"):
            opened = op == "gt"
            if self.lo is None or value > self.lo or (value == self.lo and opened):
                self.lo, self.lo_open = value, opened
        else:
            opened = op == "lt"
            if self.hi is None or value < self.hi or (value == self.hi and opened):
                self.hi, self.hi_open = value, opened

    def contains(self, value: Any) -> bool:
        if self.lo is not None and (value < self.lo or (value == self.lo and self.lo_open)):
            return False
        return not (self.hi is not None and (value > self.hi or (value == self.hi
                                                                  and self.hi_open)))

    def empty(self) -> bool:
        if self.lo is None or self.hi is None:
            return False
        return self.lo > self.hi or (self.lo == self.hi and (self.lo_open or self.hi_open))

    def within(self, other: _Interval) -> bool:
        """Every value in self is in other."""
        if other.lo is not None:
            if self.lo is None or self.lo < other.lo:
                return False
            if self.lo == other.lo and other.lo_open and not self.lo_open:
                return False
        if other.hi is not None:
            if self.hi is None or self.hi > other.hi:
                return False
            if self.hi == other.hi and other.hi_open and not self.hi_open:
                return False
        return True

    def bounded(self) -> bool:
        return self.lo is not None or self.hi is not None


@dataclass(slots=True)
class FieldC:
    """What a conjunction says about one field."""

    present: bool = False
    absent: bool = False
    types: frozenset[str] = _ALL_TYPES
    eq: Any = _NONE
    neq: set[Any] = field(default_factory=set)
    num: _Interval = field(default_factory=_Interval)
    text: _Interval = field(default_factory=_Interval)
    regexes: set[tuple[str, str]] = field(default_factory=set)
    _sat: bool | None = None  # satisfiable(), once the constraint is complete

    def add(self, op: str, value: Any) -> None:
        self._sat = None
        if op == "nex":
            self.absent = True
            return
        self.present = True
        if op == "eq":
            if self.eq is not _NONE and equality_key(self.eq) != equality_key(value):
                self.types = frozenset()  # two different values: nothing matches
            self.eq = value
            self.types &= {jtype(value)}
        elif op == "neq":
            self.neq.add(equality_key(value))
            self.types -= {"null"}
        elif op in ("gt", "gte", "lt", "lte"):
            kind = jtype(value)
            self.types &= {kind} if kind in ("num", "str") else frozenset()
            (self.num if kind == "num" else self.text).bound(op, value)
        elif op in ("mt", "imt"):
            self.types &= {"str"}
            self.regexes.add((op, value))
        for interval in (self.num, self.text):  # [a, b] without a is (a, b]
            if interval.lo is not None and not interval.lo_open \
                    and equality_key(interval.lo) in self.neq:
                interval.lo_open = True
            if interval.hi is not None and not interval.hi_open \
                    and equality_key(interval.hi) in self.neq:
                interval.hi_open = True

    def excludes(self, value: Any) -> bool:
        """Whether no value this constraint admits equals `value`."""
        if not self.satisfiable():
            return True
        if self.eq is not _NONE:
            return bool(equality_key(self.eq) != equality_key(value))
        kind = jtype(value)
        if equality_key(value) in self.neq or kind not in self.types or self.absent:
            return True
        if kind == "num" and not self.num.contains(value):
            return True
        if kind == "str":
            return not self.text.contains(value) or not all(
                _full(op, p, value) for op, p in self.regexes)
        return False

    def satisfiable(self) -> bool:
        if self._sat is None:
            self._sat = self._satisfiable()
        return self._sat

    def _satisfiable(self) -> bool:
        if self.absent:
            return not self.present
        if not self.types:
            return False
        if self.eq is not _NONE:
            value = self.eq
            return (equality_key(value) not in self.neq
                    and (jtype(value) != "num" or self.num.contains(value))
                    and (jtype(value) != "str" or (self.text.contains(value) and all(
                        _full(op, p, value) for op, p in self.regexes))))
        if self.types <= {"num"} and self.num.empty():
            return False
        if self.types <= {"num"} and self.num.lo is not None and self.num.lo == self.num.hi:
            return equality_key(self.num.lo) not in self.neq
        if self.types <= {"str"} and self.text.empty():
            return False
        return not (self.types == {"bool"} and {("$bool", True), ("$bool", False)} <= self.neq)

    def implies(self, other: FieldC) -> bool:
        """Every value (or absence) this admits, `other` admits too."""
        if not self.satisfiable():
            return True
        if not other.satisfiable():
            return False
        if other.absent:
            return self.absent
        if self.absent:
            return not other.present
        if other.present and not self.present:
            return False
        if not self.types <= other.types:
            return False
        if other.eq is not _NONE:
            return self.eq is not _NONE and equality_key(self.eq) == equality_key(other.eq)
        if not all(self._excludes_key(key, other) for key in other.neq):
            return False
        for interval, kind in ((other.num, "num"), (other.text, "str")):
            if interval.bounded() and kind in self.types:
                mine = self.num if kind == "num" else self.text
                inside = (interval.contains(self.eq) if self.eq is not _NONE
                          else mine.within(interval))
                if not inside:
                    return False
        for op, pattern in other.regexes:
            if (op, pattern) not in self.regexes and not (
                    isinstance(self.eq, str) and _full(op, pattern, self.eq)):
                return False
        return True

    def _excludes_key(self, key: Any, other: FieldC) -> bool:
        if key in self.neq:
            return True
        if self.eq is not _NONE:
            return bool(equality_key(self.eq) != key)
        value = key[1] if isinstance(key, tuple) and key[:1] == ("$bool",) else (
            None if key == ("$null",) else key)
        return self.excludes(value)


def _full(op: str, pattern: str, value: str) -> bool:
    # The engine's own matcher (RE2), so "this value matches" means what the worker does.
    try:
        return compile_regex(pattern, ignore_case=op == "imt")(value)
    except ExpressionError:
        return False


# ---- conjunctions --------------------------------------------------------------------------

@dataclass(slots=True)
class Conj:
    """One conjunction: a constraint per field and the opaque atoms, by their text."""

    fields: dict[str, FieldC]
    opaque: frozenset[str]
    atoms: tuple[Atom, ...]
    sat: bool = True

    def __post_init__(self) -> None:
        self.sat = all(f.satisfiable() for f in self.fields.values())

    def satisfiable(self) -> bool:
        return self.sat

    def implies(self, other: Conj) -> bool:
        """Every event satisfying self satisfies `other`."""
        if not self.sat:
            return True
        # A field self leaves open cannot imply any constraint other puts on it.
        if not (other.opaque <= self.opaque and other.fields.keys() <= self.fields.keys()):
            return False
        mine = self.fields
        return all(mine[path].implies(c) for path, c in other.fields.items())

    def merged(self, other: Conj) -> Conj:
        return conj_of(self.atoms + other.atoms)


def conj_of(atoms: tuple[Atom, ...]) -> Conj:
    """Build a conjunction from its atoms."""
    fields: dict[str, FieldC] = {}
    opaque: set[str] = set()
    for path, op, value in atoms:
        if op == "opaque":
            opaque.add(value)
        else:
            fields.setdefault(path, FieldC()).add(op, value)
    return Conj(fields, frozenset(opaque), atoms)


def satisfiable(terms: list[Conj]) -> bool:
    """Whether any conjunction can hold."""
    return any(c.satisfiable() for c in terms)


def implies_dnf(a: list[Conj], b: list[Conj]) -> bool:
    """Every event matching some conjunction of `a` matches some conjunction of `b`."""
    return all(any(x.implies(y) for y in b) for x in a if x.satisfiable())


def disjoint_dnf(a: list[Conj], b: list[Conj]) -> bool:
    """No event matches both."""
    return all(not x.merged(y).satisfiable() for x in a for y in b)
