"""Findings between two rules, by reasoning on their conditions: shadowed, duplicate, redundant.

A pair is examined only when one rule's trigger covers the other's and the equalities every
branch of the first requires are among those of the second (an index over those equalities
keeps the search near-linear: 5,000 rules are not 12.5 million pairs).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import combinations
from typing import Any

from rules.insights.constraints import Conj, canonical, conj_of, dnf, implies_dnf
from rules.insights.model import Finding, draft_of
from rules.values import equality_key
from schemas.definitions import RuleDefinition

__all__ = ["Prepared", "pair_findings", "prepare", "trigger_covers"]

_MAX_KEY = 6  # equalities per rule used for the pair index (2**6 subsets at most)


@dataclass(slots=True)
class Prepared:
    """A rule with its condition in normal form."""

    rule: RuleDefinition
    terms: list[Conj] | None  # None: too large to reason about
    common: frozenset[tuple[str, Any]]  # equalities every branch requires
    order: tuple[int, str]
    paths: frozenset[str] = frozenset()  # fields every satisfiable branch constrains
    opaque: frozenset[str] = frozenset()  # opaque atoms every satisfiable branch has

    @property
    def id(self) -> str:
        return self.rule.id


def prepare(rule: RuleDefinition) -> Prepared:
    """Put a rule's condition in normal form (once per analysis)."""
    raw = dnf(rule.conditions)
    terms = None if raw is None else [conj_of(t) for t in raw]
    common: frozenset[tuple[str, Any]] = frozenset()
    if terms:
        sets = [frozenset((p, equality_key(v)) for p, op, v in c.atoms if op == "eq")
                for c in terms]
        common = frozenset.intersection(*sets)
    live = [c for c in terms or () if c.sat]
    paths = frozenset.intersection(*(frozenset(c.fields) for c in live)) if live else frozenset()
    opaque = frozenset.intersection(*(c.opaque for c in live)) if live else frozenset()
    return Prepared(rule, terms, common, (-rule.priority, rule.id), paths, opaque)


def glob_covers(wide: str, narrow: str) -> bool:
    """Every name `narrow` matches, `wide` matches (sound, not complete)."""
    if wide == "*" or wide == narrow:
        return True
    return not any(c in narrow for c in "*?[") and fnmatchcase(narrow, wide)


def trigger_covers(a: RuleDefinition, b: RuleDefinition) -> bool:
    """Every event that reaches `b` by its trigger reaches `a`."""
    return (glob_covers(a.trigger.event_type, b.trigger.event_type)
            and glob_covers(a.trigger.source, b.trigger.source))


def _comparable(p: Prepared) -> bool:
    r = p.rule
    return p.terms is not None and r.pattern is None and r.type != "scheduled"


def implied_pairs(rules: Sequence[Prepared]) -> Iterator[tuple[Prepared, Prepared]]:
    """(b, a) for every pair where b's matches are a's matches too (b implies a)."""
    index: dict[tuple[str, frozenset[tuple[str, Any]]], list[Prepared]] = defaultdict(list)
    globs: set[str] = set()
    usable = [p for p in rules if _comparable(p)]
    for p in usable:
        index[(p.rule.trigger.event_type, p.common)].append(p)
        if any(c in p.rule.trigger.event_type for c in "*?["):
            globs.add(p.rule.trigger.event_type)
    for b in usable:
        kind = b.rule.trigger.event_type
        patterns = {kind, "*"} | {g for g in globs if glob_covers(g, kind)}
        key = sorted(b.common, key=repr)[:_MAX_KEY]
        for size in range(len(key) + 1):
            for subset in combinations(key, size):
                for pattern in patterns:
                    for a in index.get((pattern, frozenset(subset)), ()):
                        # b implies a only if b constrains every field a always does.
                        if a is b or not (a.paths <= b.paths and a.opaque <= b.opaque):
                            continue
                        # The bucket's pattern covers b's event type already.
                        if glob_covers(a.rule.trigger.source, b.rule.trigger.source) \
                                and implies_dnf(b.terms or [], a.terms or []):
                            yield b, a


def claims_group(rule: RuleDefinition) -> bool:
    """Whether a match of `rule` always takes its exclusive group (no limit lets it pass)."""
    immediate_limit = rule.concurrency_limit is not None and rule.execution_mode == "immediate"
    return rule.pattern is None and rule.max_executions is None and not immediate_limit


def _actions(rule: RuleDefinition) -> str:
    return canonical([a.model_dump(mode="json") for a in rule.actions])


def pair_findings(rules: Sequence[Prepared]) -> list[Finding]:
    """Shadowed rules of exclusive groups, duplicates, and redundant rules."""
    found: dict[str, Finding] = {}
    shadowed: dict[str, tuple[tuple[int, str], Finding]] = {}
    for b, a in implied_pairs(rules):
        both = trigger_covers(b.rule, a.rule) and implies_dnf(a.terms or [], b.terms or [])
        finding = _judge(b, a, both)
        if finding is None:
            continue
        if finding.kind == "shadowed":  # one finding per hidden rule: the first that hides it
            if b.id not in shadowed or a.order < shadowed[b.id][0]:
                shadowed[b.id] = (a.order, finding)
        elif finding.key not in found:
            found[finding.key] = finding
    return [*found.values(), *(f for _, f in shadowed.values())]


def _judge(b: Prepared, a: Prepared, equivalent: bool) -> Finding | None:
    ra, rb = a.rule, b.rule
    conditions = {ra.id: ra.conditions, rb.id: rb.conditions}
    group = rb.exclusive_group
    if group is not None and group == ra.exclusive_group:
        return _shadowed(b, a, equivalent) if a.order < b.order and claims_group(ra) else None
    same_actions = _actions(ra) == _actions(rb)
    if equivalent and b.order < a.order:
        return None  # reported once, from the other side
    if equivalent and same_actions:
        return Finding("duplicate", (rb.id, ra.id), {"conditions": conditions},
                       f"{rb.id} and {ra.id} match the same events and do the same thing: "
                       f"every such event runs the actions twice; deprecate {rb.id}")
    if equivalent:
        merged = [*ra.model_dump(mode="json", exclude_none=True)["actions"],
                  *rb.model_dump(mode="json", exclude_none=True)["actions"]]
        return Finding("same_conditions", (rb.id, ra.id), {"conditions": conditions},
                       f"{rb.id} and {ra.id} match exactly the same events: one rule with "
                       f"both actions is one evaluation and one place to change",
                       (draft_of(ra, actions=merged),))
    if same_actions:
        return Finding("redundant", (rb.id, ra.id), {"conditions": conditions},
                       f"every event that fires {rb.id} also fires {ra.id} with the same "
                       f"actions, so they run twice; deprecate {rb.id}")
    return None


def _shadowed(b: Prepared, a: Prepared, equivalent: bool) -> Finding:
    ra, rb = a.rule, b.rule
    group = rb.exclusive_group
    conditions = {ra.id: ra.conditions, rb.id: rb.conditions}
    evidence = {"group": group, "first": ra.id, "priority": [ra.priority, rb.priority],
                "conditions": conditions, "equivalent": equivalent}
    if equivalent:
        return Finding("shadowed", (rb.id, ra.id), evidence,
                       f"{rb.id} can never fire: {ra.id} comes first in group {group!r} "
                       "and matches exactly the same events; deprecate one of them")
    return Finding("shadowed", (rb.id, ra.id), evidence,
                   f"{rb.id} can never fire: every event it matches, {ra.id} matches and "
                   f"fires first in group {group!r}; give {rb.id} the higher priority "
                   "so the more specific rule goes first",
                   (draft_of(rb, priority=ra.priority + 1),))
