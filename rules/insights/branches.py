"""Findings inside one rule's condition: unsatisfiable, dead `$or` branches, residual-only.

Dead branches and contradictions come from the constraint reasoning (`constraints`); the
residual check asks the compiler which conjuncts the index can use (`Term.kind`), exactly as
`RuleIndex.add` does, and tries rewrites that give it an anchor without changing what the
condition matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rules.conditions import compile_condition
from rules.insights.constraints import Conj, conj_of, dnf, implies_dnf, satisfiable
from rules.insights.model import Finding, draft_of
from rules.insights.pairs import Prepared
from schemas.definitions import ConditionError

__all__ = ["condition_findings", "index_rewrite"]


def condition_findings(p: Prepared, cost_us: float | None, events: int) -> list[Finding]:
    """What is wrong inside one rule's condition."""
    rule = p.rule
    if not rule.conditions:
        return []
    if p.terms is not None and not satisfiable(p.terms):
        return [Finding("unsatisfiable", (rule.id,), {"conditions": rule.conditions},
                        f"no event can match {rule.id}: its conditions contradict each other")]
    out = []
    dead = _dead_branches(rule.conditions)
    if dead is not None:
        reasons, rewritten = dead
        out.append(Finding("dead_branch", (rule.id,), {"branches": reasons},
                           "remove the $or branches that can never decide the match",
                           (draft_of(rule, conditions=rewritten),)))
    if not _anchored(rule.conditions):
        out.append(_residual(rule.id, p, cost_us, events))
    return out


# ---- dead branches of $or --------------------------------------------------------------------

def _conjuncts(condition: Mapping[str, Any]) -> list[Any]:
    """The top-level conjuncts as single-key objects (the validator's form)."""
    out: list[Any] = []
    for key, operand in condition.items():
        if key == "$and" and isinstance(operand, list):
            out.extend(operand)
        else:
            out.append({key: operand})
    return out


def _joined(conjuncts: list[Any]) -> dict[str, Any]:
    return dict(conjuncts[0]) if len(conjuncts) == 1 else {"$and": conjuncts}


def _or_site(condition: Mapping[str, Any]) -> tuple[int, list[Any], list[Any]] | None:
    """The first top-level `$or` conjunct: its position, its branches, the other conjuncts."""
    parts = _conjuncts(condition)
    for i, part in enumerate(parts):
        if isinstance(part, Mapping) and set(part) == {"$or"} and isinstance(part["$or"], list):
            return i, part["$or"], parts[:i] + parts[i + 1:]
    return None


def _dead_branches(condition: Mapping[str, Any]
                   ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    site = _or_site(condition)
    if site is None:
        return None
    at, branches, rest = site
    context_terms = dnf(_joined(rest)) if rest else [()]
    context = conj_of(context_terms[0]) if context_terms and len(context_terms) == 1 else None
    forms: list[list[Conj] | None] = []
    for branch in branches:
        raw = dnf(branch)
        forms.append(None if raw is None else [conj_of(t) for t in raw])
    reasons: list[dict[str, Any]] = []
    keep: list[Any] = []
    for i, (branch, form) in enumerate(zip(branches, forms, strict=True)):
        why = _why_dead(i, form, forms, context)
        if why is None:
            keep.append(branch)
        else:
            reasons.append({"index": i, "branch": branch, "reason": why})
    if not reasons or not keep:
        return None
    parts = _conjuncts(condition)
    if len(keep) > 1:
        parts[at] = {"$or": keep}
    else:  # one branch left: its conjuncts join the others
        parts[at:at + 1] = _conjuncts(keep[0])
    return reasons, _joined(parts)


def _why_dead(i: int, form: list[Conj] | None, forms: list[list[Conj] | None],
              context: Conj | None) -> str | None:
    if form is None:
        return None
    if context is not None and not satisfiable([context.merged(c) for c in form]):
        return "contradicts the rest of the condition"
    for j, other in enumerate(forms):
        if j == i or other is None or not implies_dnf(form, other):
            continue
        if not implies_dnf(other, form) or j < i:  # of two equal branches, the later goes
            return f"implied by branch {j}"
    return None


# ---- residual predicates ---------------------------------------------------------------------

def _anchored(condition: Mapping[str, Any]) -> bool:
    """Whether the index can file the rule under an equality or a range (`RuleIndex.add`)."""
    try:
        terms = compile_condition(condition).terms
    except ConditionError:
        return True  # not ours to judge; the validator reports it
    return any(t.kind in ("eq", "range") for t in terms)


def _residual(rule_id: str, p: Prepared, cost_us: float | None, events: int) -> Finding:
    rule = p.rule
    evidence: dict[str, Any] = {"conditions": rule.conditions, "events_of_type": events,
                                "cost_us_per_event": cost_us}
    if cost_us is not None:
        evidence["cost_ms_total"] = round(cost_us * events / 1000, 3)
    rewrite = index_rewrite(rule.conditions or {})
    if rewrite is not None:
        return Finding("residual", (rule_id,), evidence,
                       "no conjunct of this condition is an equality or a range the index can "
                       "file it under, so it runs on every event of its type; the draft says "
                       "the same with an indexable conjunct",
                       (draft_of(rule, conditions=rewrite),))
    return Finding("residual", (rule_id,), evidence,
                   "no conjunct of this condition is an equality or a range the index can file "
                   "it under, so it runs on every event of its type; add one (a field value "
                   "or bound every match has) if there is one")


def index_rewrite(condition: Mapping[str, Any]) -> dict[str, Any] | None:
    """The same condition with a conjunct the index can use, or None when none was found."""
    for rewrite in (_literal_regex, _factor_or, _plain_expr):
        new = rewrite(condition)
        if new is not None and _anchored(new):
            return new
    return None


_META = re.compile(r"[.^$*+?{}\[\]\\|()]")


def _literal_regex(condition: Mapping[str, Any]) -> dict[str, Any] | None:
    # `$mt` is a full match, so a pattern without metacharacters is string equality.
    parts = _conjuncts(condition)
    changed = False
    for i, part in enumerate(parts):
        operand = part.get("$mt") if isinstance(part, Mapping) and len(part) == 1 else None
        if isinstance(operand, Mapping) and len(operand) == 1:
            ((path, pattern),) = operand.items()
            if isinstance(pattern, str) and not _META.search(pattern):
                parts[i] = {path: pattern}
                changed = True
    return _joined(parts) if changed else None


def _factor_or(condition: Mapping[str, Any]) -> dict[str, Any] | None:
    # (a and x) or (a and y) = a and (x or y): an equality every branch repeats goes up.
    site = _or_site(condition)
    if site is None:
        return None
    at, branches, _ = site
    split = [_conjuncts(b) if isinstance(b, Mapping) else [b] for b in branches]
    shared = [c for c in split[0] if isinstance(c, Mapping) and len(c) == 1
              and not next(iter(c)).startswith("$") and all(c in other for other in split[1:])]
    if not shared:
        return None
    rest = [[c for c in conjuncts if c not in shared] for conjuncts in split]
    parts = _conjuncts(condition)
    # An emptied branch is "always": the $or then holds whatever the others say.
    factored = [] if not all(rest) else [{"$or": [_joined(r) for r in rest]}]
    parts[at:at + 1] = [*shared, *factored]
    return _joined(parts)


_CMP = re.compile(
    r"^\s*event\.([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\s*(==|>=|<=|>|<)\s*"
    r"(-?\d+(?:\.\d+)?|'[^'\\]*'|\"[^\"\\]*\"|true|false)\s*$")
_HAS = re.compile(r"^\s*has\(event\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\)\s*$")
_OPS = {">": "$gt", ">=": "$gte", "<": "$lt", "<=": "$lte"}


def _plain_expr(condition: Mapping[str, Any]) -> dict[str, Any] | None:
    # `$expr` that is only `has(event.x)` and `event.x <op> literal` joined by `&&`.
    source = condition.get("$expr")
    if not isinstance(source, str) or "||" in source:
        return None
    parts: list[dict[str, Any]] = []
    for clause in source.split("&&"):
        if (has := _HAS.match(clause)) is not None:
            parts.append({"$ex": {has.group(1): 1}})
            continue
        cmp = _CMP.match(clause)
        if cmp is None:
            return None
        path, op, text = cmp.groups()
        value = _literal(text)
        parts.append({path: value} if op == "==" else {_OPS[op]: {path: value}})
    conjuncts = [c for c in _conjuncts(condition) if set(c) != {"$expr"}]
    return _joined([*conjuncts, *parts])


def _literal(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text[0] in "'\"":
        return text[1:-1]
    return float(text) if "." in text else int(text)
