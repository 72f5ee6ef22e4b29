"""Rule insights: what in the active rulebook is dead, duplicated, slow, held back or failing.

`analyse(rules, observations, traffic, now)` is pure: the rulebook, the statistics per rule and
the event types seen come in as plain data, findings go out. Condition findings (shadowed,
duplicate, redundant, same conditions, dead branches, unsatisfiable, residual predicates) come
from reasoning on the conditions (`constraints`), never from sampling events; the others read
the statistics. See docs/rules.md, "Insights".

Example:
    >>> import datetime as dt
    >>> from schemas.definitions import RuleDefinition
    >>> def rule(rule_id, conditions, priority):
    ...     return RuleDefinition.model_validate({
    ...         "id": rule_id, "name": rule_id, "trigger": {"event_type": "order.placed"},
    ...         "conditions": conditions, "priority": priority, "exclusive_group": "route",
    ...         "actions": [{"type": "start_workflow", "workflow_id": rule_id}]})
    >>> book = [rule("any-big", {"$gt": {"data.total": 100}}, 10),
    ...         rule("big-fr", {"$and": [{"$gt": {"data.total": 500}}, {"data.country": "FR"}]}, 0)]
    >>> [(f.kind, f.rules) for f in analyse(book, {}, {}, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))]
    [('shadowed', ('big-fr', 'any-big'))]
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from rules.insights.branches import condition_findings, index_rewrite
from rules.insights.model import Finding, InsightLimits, RuleObservation, Traffic, draft_of
from rules.insights.observed import (
    failing_actions,
    limit_findings,
    never_matched,
    observed_shadow,
    priority_order,
    traffic_of,
)
from rules.insights.pairs import Prepared, pair_findings, prepare
from schemas.definitions import RuleDefinition

__all__ = ["KINDS", "Finding", "InsightLimits", "RuleObservation", "Traffic", "analyse",
           "draft_of", "index_rewrite"]

KINDS = ("unsatisfiable", "shadowed", "duplicate", "same_conditions", "redundant",
         "dead_branch", "never_matched", "failing_actions", "limit_max_executions",
         "limit_concurrency_drops", "limit_concurrency_queue", "limit_batch_window",
         "residual", "priority_order")
"""Every kind of finding, in the order findings are listed (the most harmful first)."""


def analyse(
    rules: Sequence[RuleDefinition],
    observations: Mapping[str, RuleObservation],
    traffic: Mapping[str, Traffic],
    now: dt.datetime,
    *,
    cost_us: Mapping[str, float] | None = None,
    limits: InsightLimits | None = None,
) -> list[Finding]:
    """Every finding over the active rulebook, most harmful kind first, then by rules.

    Args:
        rules: the active rules (the newest active version of each).
        observations: statistics per rule id (missing: nothing observed).
        traffic: events seen per event type.
        now: the end of the window "never matched" looks at.
        cost_us: measured condition cost per event, per rule id (for residual findings).
        limits: thresholds (defaults: `InsightLimits()`).
    """
    limits = limits or InsightLimits()
    prepared = [prepare(r) for r in rules]
    findings = pair_findings(prepared)
    shadowed = {f.rules[0] for f in findings if f.kind == "shadowed"}
    groups: dict[str, list[Prepared]] = defaultdict(list)
    nothing = RuleObservation()
    flows: dict[str, tuple[int, dt.datetime | None, list[str]]] = {}
    for p in prepared:
        obs = observations.get(p.id, nothing)
        pattern = p.rule.trigger.event_type
        if pattern not in flows:
            flows[pattern] = traffic_of(pattern, traffic)
        flow = flows[pattern]
        events = flow[0]
        inside = condition_findings(p, (cost_us or {}).get(p.id), events)
        findings += inside
        findings += limit_findings(p, obs, limits)
        # A rule shown never to fire (shadowed, contradictory) needs no "never matched" too.
        explained = p.id in shadowed or any(f.kind == "unsatisfiable" for f in inside)
        for single in (None if explained else never_matched(p, obs, flow, now, limits),
                       None if p.id in shadowed else observed_shadow(p, obs, limits),
                       failing_actions(p, obs, limits)):
            if single is not None:
                findings.append(single)
        if p.rule.exclusive_group is not None:
            groups[p.rule.exclusive_group].append(p)
    for group, members in sorted(groups.items()):
        ordered = priority_order(group, members, observations, limits)
        if ordered is not None:
            findings.append(ordered)
    rank = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(findings, key=lambda f: (rank[f.kind], f.rules))
