"""The rule index: an event meets only the rules that can match it.

Levels, each a dictionary lookup or a bisection: event type pattern, then source pattern
(exact names hashed, globs matched once per distinct name and cached), then equality on fields
(one hash lookup per indexed field, nested), then one range bound (sorted bounds, bisected),
then the rule's remaining conjuncts as one compiled predicate. Rules are filed and unfiled one
at a time; nothing else is recompiled.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from operator import attrgetter
from typing import Any, Generic, TypeVar

from rules.conditions import CompiledCondition, Term, Test
from rules.conditions import field_getter as _make_getter
from rules.values import MISSING, Getter, equality_key

T = TypeVar("T")
_CACHE_LIMIT = 4096


@dataclass(slots=True, eq=False)
class Entry:
    """One rule as the index holds it.

    Attributes:
        rule_id: the rule's id (unique in the index).
        order: sort key of the match list: higher priority first, then id.
        condition: the whole compiled condition (for reasons on a non-match).
        residual: the conjuncts the index did not use, or None when it used them all.
        payload: whatever the caller files with the rule (the engine's compiled rule).
    """

    rule_id: str
    order: tuple[int, str]
    condition: CompiledCondition
    residual: Test | None
    payload: Any = None


class PatternMap(Generic[T]):
    """Values filed under glob patterns; `lookup(name)` gives those whose pattern matches."""

    __slots__ = ("_cache", "exact", "globs")

    def __init__(self) -> None:
        self.exact: dict[str, T] = {}
        self.globs: dict[str, T] = {}
        self._cache: dict[str, tuple[T, ...]] = {}

    def get_or_add(self, pattern: str, make: type[T]) -> T:
        """The value under `pattern`, made and filed if new."""
        table = self.globs if _is_glob(pattern) else self.exact
        value = table.get(pattern)
        if value is None:
            value = table[pattern] = make()
            self._cache.clear()
        return value

    def discard(self, pattern: str) -> None:
        """Drop the value under `pattern` (the caller found it empty)."""
        table = self.globs if _is_glob(pattern) else self.exact
        if table.pop(pattern, None) is not None:
            self._cache.clear()

    def lookup(self, name: str) -> tuple[T, ...]:
        """Every value whose pattern matches `name`."""
        found = self._cache.get(name)
        if found is None:
            hits = [v for p, v in self.globs.items() if fnmatchcase(name, p)]
            exact = self.exact.get(name)
            found = (exact, *hits) if exact is not None else tuple(hits)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()  # a flood of distinct names must not grow memory
            self._cache[name] = found
        return found

    def values(self) -> Iterator[T]:
        """Every filed value."""
        yield from self.exact.values()
        yield from self.globs.values()


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


class _Bounds:
    """Entries under `op` bounds of one kind (numbers or strings), sorted by bound."""

    __slots__ = ("bounds", "entries")

    def __init__(self) -> None:
        self.bounds: list[Any] = []
        self.entries: list[Entry] = []

    def add(self, bound: Any, entry: Entry) -> None:
        at = bisect_right(self.bounds, bound)
        self.bounds.insert(at, bound)
        self.entries.insert(at, entry)

    def remove(self, bound: Any, entry: Entry) -> None:
        lo, hi = bisect_left(self.bounds, bound), bisect_right(self.bounds, bound)
        at = next(i for i in range(lo, hi) if self.entries[i] is entry)
        del self.bounds[at]
        del self.entries[at]


class _Ranges:
    """The range-anchored rules on one field: sorted bound lists per operator and kind."""

    __slots__ = ("get", "numbers", "texts")

    def __init__(self, get: Getter) -> None:
        self.get = get
        self.numbers: dict[str, _Bounds] = {}
        self.texts: dict[str, _Bounds] = {}

    def table(self, term: Term) -> dict[str, _Bounds]:
        return self.texts if type(term.value) is str else self.numbers

    def collect(self, event: Any, out: list[Entry]) -> None:
        value = self.get(event)
        kind = type(value)
        if kind is str:
            tables = self.texts
        elif (kind is int or kind is float) and value == value:
            # NaN is in no order; bisecting it would pick arbitrary bounds.
            tables = self.numbers
        else:
            return
        for op, table in tables.items():
            if op == "$gt":  # bound < value
                chosen = table.entries[: bisect_left(table.bounds, value)]
            elif op == "$gte":
                chosen = table.entries[: bisect_right(table.bounds, value)]
            elif op == "$lt":  # bound > value
                chosen = table.entries[bisect_right(table.bounds, value) :]
            else:
                chosen = table.entries[bisect_left(table.bounds, value) :]
            for entry in chosen:
                residual = entry.residual
                if residual is None or residual(event):
                    out.append(entry)

    def empty(self) -> bool:
        return not (self.numbers or self.texts)

    def entries(self) -> Iterator[Entry]:
        for table in (*self.numbers.values(), *self.texts.values()):
            yield from table.entries


Collect = Callable[[Any, list[Entry]], None]


class _Node:
    """A level of the index: equality children by field, range tables by field, leaves.

    `run(event, out)` is a closure specialised to the node's current shape, rebuilt on first
    use after the shape changed (`invalidate`); children are looked up live, so a change
    below a node never rebuilds it.
    """

    __slots__ = ("eq", "leaves", "ranges", "run")

    def __init__(self) -> None:
        self.eq: dict[str, tuple[Getter, dict[Any, _Node]]] = {}
        self.ranges: dict[str, _Ranges] = {}
        self.leaves: list[Entry] = []
        self.run: Collect = self._rebuild

    def invalidate(self) -> None:
        self.run = self._rebuild

    def _rebuild(self, event: Any, out: list[Entry]) -> None:
        self.run = self._compile()
        self.run(event, out)

    def _compile(self) -> Collect:
        parts: list[Collect] = [_eq_part(get, children) for get, children in self.eq.values()]
        parts.extend(ranges.collect for ranges in self.ranges.values())
        if self.leaves:
            parts.append(_leaf_part(self.leaves))
        if not parts:
            return _nothing
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            first, second = parts

            def both(event: Any, out: list[Entry]) -> None:
                first(event, out)
                second(event, out)

            return both
        every = tuple(parts)

        def each(event: Any, out: list[Entry]) -> None:
            for part in every:
                part(event, out)

        return each

    def empty(self) -> bool:
        return not (self.eq or self.ranges or self.leaves)

    def entries(self) -> Iterator[Entry]:
        yield from self.leaves
        for ranges in self.ranges.values():
            yield from ranges.entries()
        for _, children in self.eq.values():
            for child in children.values():
                yield from child.entries()


def _nothing(event: Any, out: list[Entry]) -> None:
    return None


def _eq_part(get: Getter, children: dict[Any, _Node]) -> Collect:
    def collect(event: Any, out: list[Entry]) -> None:
        value = get(event)
        if value is not MISSING:
            child = children.get(value if type(value) is str else equality_key(value))
            if child is not None:
                child.run(event, out)

    return collect


def _leaf_part(leaves: list[Entry]) -> Collect:
    always = tuple(e for e in leaves if e.residual is None)
    checked = tuple((e, e.residual) for e in leaves if e.residual is not None)
    if not checked:
        return lambda event, out: out.extend(always)

    def collect(event: Any, out: list[Entry]) -> None:
        if always:
            out.extend(always)
        for entry, residual in checked:
            if residual(event):
                out.append(entry)

    return collect


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where an entry was filed, so that removing it touches only that path."""

    event_type: str
    source: str
    eq_steps: tuple[tuple[str, Any], ...]
    range_term: Term | None


@dataclass(slots=True)
class RuleIndex:
    """Active rules filed for fast matching; add and remove one at a time.

    `match(event)` returns the entries whose whole condition holds, in priority order.
    """

    _types: PatternMap[PatternMap[_Node]] = field(default_factory=PatternMap)
    _placed: dict[str, tuple[Entry, _Placement]] = field(default_factory=dict)
    # (type, source) -> the root nodes whose patterns fit; cleared when a root comes or goes.
    _routes: dict[tuple[str, str], tuple[_Node, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._placed)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._placed

    def add(
        self,
        rule_id: str,
        condition: CompiledCondition,
        *,
        event_type: str = "*",
        source: str = "*",
        priority: int = 0,
        payload: Any = None,
    ) -> Entry:
        """File a rule (replacing one with the same id)."""
        self.remove(rule_id)
        eq_terms, range_term, rest = _choose_anchors(condition.terms)
        residual = _conjunction(rest)
        entry = Entry(rule_id, (-priority, rule_id), condition, residual, payload)
        sources = self._types.get_or_add(event_type, PatternMap)
        if source not in sources.exact and source not in sources.globs:
            self._routes.clear()
        node = sources.get_or_add(source, _Node)
        steps: list[tuple[str, Any]] = []
        for term in eq_terms:
            key = equality_key(term.value)
            if term.path not in node.eq:
                node.eq[term.path] = (_make_getter(term.path, ()), {})
                node.invalidate()
            _, children = node.eq[term.path]
            node = children.setdefault(key, _Node())
            steps.append((term.path, key))
        if range_term is None:
            node.leaves.append(entry)
            node.invalidate()
        else:
            ranges = node.ranges.get(range_term.path)
            if ranges is None:
                ranges = node.ranges[range_term.path] = _Ranges(_make_getter(range_term.path, ()))
                node.invalidate()
            table = ranges.table(range_term)
            table.setdefault(range_term.op, _Bounds()).add(range_term.value, entry)
        self._placed[rule_id] = (entry, _Placement(event_type, source, tuple(steps), range_term))
        return entry

    def remove(self, rule_id: str) -> bool:
        """Unfile a rule; False when it was not filed."""
        placed = self._placed.pop(rule_id, None)
        if placed is None:
            return False
        entry, where = placed
        sources = self._types.get_or_add(where.event_type, PatternMap)
        root = sources.get_or_add(where.source, _Node)
        _unfile(root, list(where.eq_steps), where.range_term, entry)
        if root.empty():
            sources.discard(where.source)
            self._routes.clear()
        if not sources.exact and not sources.globs:
            self._types.discard(where.event_type)
        return True

    def match(self, event: Any) -> list[Entry]:
        """Entries whose rule matches `event` (a CloudEvent as a dict), highest priority first."""
        out: list[Entry] = []
        try:
            route = (event["type"], event["source"])
            roots = self._routes.get(route)
        except (KeyError, TypeError):  # not a dict, a field missing, or unhashable
            route = (_text(event, "type"), _text(event, "source"))
            roots = None
        if roots is None:
            roots = self._route(*route)
        for node in roots:
            node.run(event, out)
        if len(out) > 1:
            out.sort(key=_order)
        return out

    def _route(self, kind: Any, source: Any) -> tuple[_Node, ...]:
        if type(kind) is not str or type(source) is not str:
            return self._route(_text({"t": kind}, "t"), _text({"s": source}, "s"))
        roots = tuple(n for s in self._types.lookup(kind) for n in s.lookup(source))
        if len(self._routes) >= _CACHE_LIMIT:
            self._routes.clear()  # a flood of distinct names must not grow memory
        self._routes[(kind, source)] = roots
        return roots

    def candidates(self, event: Any) -> list[Entry]:
        """Entries whose trigger patterns fit `event`, matched or not (slow; for reasons)."""
        kind = event.get("type") if type(event) is dict else None
        source = event.get("source") if type(event) is dict else None
        found: list[Entry] = []
        for sources in self._types.lookup(kind if type(kind) is str else ""):
            for node in sources.lookup(source if type(source) is str else ""):
                found.extend(node.entries())
        found.sort(key=_order)
        return found

    def entries(self) -> Iterator[Entry]:
        """Every filed entry."""
        for entry, _ in self._placed.values():
            yield entry


_order = attrgetter("order")


def _text(event: Any, name: str) -> str:
    value = event.get(name) if type(event) is dict else None
    return value if type(value) is str else ""


def _choose_anchors(terms: tuple[Term, ...]) -> tuple[list[Term], Term | None, list[Term]]:
    """Equality terms (one per field, by path) nest; the first range term is bisected."""
    eq_terms: dict[str, Term] = {}
    range_term: Term | None = None
    rest: list[Term] = []
    for term in terms:
        if term.kind == "eq" and term.path not in eq_terms:
            eq_terms[term.path] = term
        elif term.kind == "range" and range_term is None:
            range_term = term
        else:
            rest.append(term)
    return [eq_terms[p] for p in sorted(eq_terms)], range_term, rest


def _conjunction(terms: list[Term]) -> Test | None:
    if not terms:
        return None
    if len(terms) == 1:
        return terms[0].test
    tests = tuple(t.test for t in terms)
    if len(tests) == 2:
        first, second = tests
        return lambda event: first(event) and second(event)
    return lambda event: all(t(event) for t in tests)


def _unfile(
    node: _Node, steps: list[tuple[str, Any]], range_term: Term | None, entry: Entry
) -> None:
    if steps:
        path, key = steps[0]
        _, children = node.eq[path]
        child = children[key]
        _unfile(child, steps[1:], range_term, entry)
        if child.empty():
            del children[key]
            if not children:
                del node.eq[path]
                node.invalidate()
        return
    if range_term is None:
        node.leaves.remove(entry)
        node.invalidate()
        return
    ranges = node.ranges[range_term.path]
    tables = ranges.table(range_term)
    bounds = tables[range_term.op]
    bounds.remove(range_term.value, entry)
    if not bounds.entries:
        del tables[range_term.op]
        if ranges.empty():
            del node.ranges[range_term.path]
            node.invalidate()
