"""Findings from what the rules did: silent rules, limits that drop or delay, failing actions,
and a priority order for exclusive groups from the observed matches."""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from rules.insights.constraints import disjoint_dnf
from rules.insights.model import Finding, InsightLimits, RuleObservation, Traffic, draft_of
from rules.insights.pairs import Prepared, _comparable

__all__ = ["failing_actions", "limit_findings", "never_matched", "observed_shadow",
           "priority_order", "traffic_of"]


def traffic_of(pattern: str, traffic: Mapping[str, Traffic]) -> tuple[int, dt.datetime | None,
                                                                      list[str]]:
    """Events seen of the types a trigger pattern matches: count, last seen, the types."""
    types = sorted(t for t in traffic if fnmatchcase(t, pattern))
    seen: list[dt.datetime] = [t for t in (traffic[n].last_seen for n in types) if t is not None]
    return sum(traffic[t].events for t in types), max(seen, default=None), types


def never_matched(p: Prepared, obs: RuleObservation,
                  flow: tuple[int, dt.datetime | None, list[str]],
                  now: dt.datetime, limits: InsightLimits) -> Finding | None:
    """Its event type flowed (`flow`, from `traffic_of`) and the rule did not match once."""
    rule = p.rule
    if rule.type == "scheduled":
        return None
    start = now - limits.window
    events, last_seen, types = flow
    if events < limits.min_events or last_seen is None or last_seen < start:
        return None
    if obs.last_match is not None and obs.last_match >= start:
        return None
    if obs.active_since is not None and obs.active_since > start:
        return None  # not active for the whole window yet
    evidence = {"events_of_type": events, "event_types": types, "last_seen": last_seen.isoformat(),
                "last_match": obs.last_match.isoformat() if obs.last_match else None,
                "window_s": limits.window.total_seconds()}
    return Finding("never_matched", (rule.id,), evidence,
                   f"{events} events of its type came and none matched in "
                   f"{limits.window.days or limits.window.total_seconds() / 86400:g} days: try it "
                   "on a recent one (POST /rules/test shows the failing condition), or pause it")


def observed_shadow(p: Prepared, obs: RuleObservation, limits: InsightLimits) -> Finding | None:
    """It matched, but its exclusive group always went to another rule first."""
    lost = obs.skip_reasons.get("exclusive_group", 0)
    if p.rule.exclusive_group is None or obs.matched or lost < limits.min_outcomes:
        return None
    return Finding("shadowed", (p.id,), {"group": p.rule.exclusive_group,
                                         "skipped_for_group": lost, "matched": 0},
                   f"it matched {lost} events and fired on none: a rule before it in group "
                   f"{p.rule.exclusive_group!r} took every one; raise its priority if it "
                   "should win, or remove it")


def limit_findings(p: Prepared, obs: RuleObservation, limits: InsightLimits) -> list[Finding]:
    """Limits that drop firings (max executions, concurrency) or delay them (queue, batch)."""
    rule, out = p.rule, []
    spent = obs.skip_reasons.get("max_executions", 0)
    if rule.max_executions is not None and spent:
        wanted = rule.max_executions + spent
        out.append(Finding("limit_max_executions", (rule.id,),
                           {"max_executions": rule.max_executions, "skipped": spent},
                           f"{spent} matches were dropped after max_executions "
                           f"({rule.max_executions}) was reached; raise it to {wanted} to "
                           "cover the demand seen, or remove it",
                           (draft_of(rule, max_executions=wanted),)))
    dropped = obs.skip_reasons.get("concurrency_limit", 0)
    if rule.concurrency_limit is not None and dropped:
        out.append(Finding("limit_concurrency_drops", (rule.id,),
                           {"concurrency_limit": rule.concurrency_limit, "dropped": dropped,
                            "matched": obs.matched},
                           f"{dropped} matches were dropped while {rule.concurrency_limit} ran; "
                           "queued mode keeps them and starts them as slots free",
                           (draft_of(rule, execution_mode="queued"),)))
    waited = obs.deferred if rule.execution_mode == "queued" else 0
    if rule.concurrency_limit is not None and obs.matched >= limits.min_outcomes \
            and waited / obs.matched >= 0.1:
        raised = rule.concurrency_limit * 2
        out.append(Finding("limit_concurrency_queue", (rule.id,),
                           {"concurrency_limit": rule.concurrency_limit, "queued": waited,
                            "matched": obs.matched},
                           f"{waited} of {obs.matched} firings waited for a slot; a limit of "
                           f"{raised} lets more run at once",
                           (draft_of(rule, concurrency_limit=raised),)))
    batch = _batch_finding(p, obs, limits)
    return [*out, *([batch] if batch else [])]


def _batch_finding(p: Prepared, obs: RuleObservation, limits: InsightLimits) -> Finding | None:
    rule = p.rule
    if rule.execution_mode != "batch" or obs.matched < limits.min_outcomes:
        return None
    size = rule.batch.size if rule.batch else 10
    window = rule.batch.window if rule.batch else 60.0
    flushes = obs.matched - obs.deferred
    if flushes <= 0:
        return None
    mean = obs.matched / flushes
    if mean >= size * limits.batch_fill:
        return None
    suggested = max(1, math.ceil(mean))
    settings = rule.batch.model_dump(mode="json") if rule.batch else {"window": window}
    return Finding("limit_batch_window", (rule.id,),
                   {"batch_size": size, "window_s": window, "batches": flushes,
                    "mean_events_per_batch": round(mean, 2)},
                   f"batches fill to {mean:.1f} of {size} on average, so the {window:g}s window "
                   f"flushes them; a size of {suggested} fires a typical batch as soon as it is "
                   "in instead of at the window's end",
                   (draft_of(rule, batch={**settings, "size": suggested}),))


_ADVICE = {
    "action_failed:call_webhook": "the webhook's target answers with errors: check it",
    "action_failed:start_workflow": "the workflow it starts fails: see its executions",
    "action_failed:publish_event": "publishing the event fails",
    "action_failed:signal_execution": "the execution it signals refuses or is gone",
}


def failing_actions(p: Prepared, obs: RuleObservation, limits: InsightLimits) -> Finding | None:
    """Activations whose actions fail often, with the most common errors."""
    evaluation_errors = sum(n for c, n in obs.errors.items() if not c.startswith("action_"))
    activations = obs.matched + evaluation_errors
    if activations < limits.min_outcomes or not obs.failed:
        return None
    rate = obs.failed / activations
    if rate < limits.failure_rate:
        return None
    common = sorted(obs.errors.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    top = common[0][0] if common else ""
    advice = _ADVICE.get(top, "an action mapping fails on some events: guard the field it "
                              "reads (has()) or add a condition; POST /rules/test with such "
                              "an event shows where")
    return Finding("failing_actions", (p.id,),
                   {"failed": obs.failed, "activations": activations, "rate": round(rate, 4),
                    "most_common": [{"code": c, "count": n} for c, n in common],
                    "last_error": obs.last_error},
                   f"{obs.failed} of {activations} activations failed ({rate:.0%}); {advice}")


def priority_order(group: str, members: Sequence[Prepared],
                   observations: Mapping[str, RuleObservation],
                   limits: InsightLimits) -> Finding | None:
    """Order an exclusive group by observed matches, keeping every pair that can overlap."""
    members = sorted(members, key=lambda p: p.order)
    matched = {p.id: observations.get(p.id, RuleObservation()).matched for p in members}
    if len(members) < 2 or sum(matched.values()) < limits.min_outcomes \
            or not all(_comparable(p) for p in members):
        return None
    before: dict[str, set[str]] = {p.id: set() for p in members}
    kept: list[list[str]] = []
    for i, x in enumerate(members):
        for y in members[i + 1:]:
            if not _disjoint(x, y):
                before[y.id].add(x.id)
                kept.append([x.id, y.id])
    suggested = _order(members, before, matched)
    current = [p.id for p in members]
    if suggested == current:
        return None
    priorities = _priorities([p.rule.priority for p in members])
    by_id = {p.id: p for p in members}
    drafts = tuple(draft_of(by_id[rid].rule, priority=priority)
                   for rid, priority in zip(suggested, priorities, strict=True)
                   if by_id[rid].rule.priority != priority)
    evidence: dict[str, Any] = {"group": group, "current": current, "suggested": suggested,
                                "matched": matched, "kept_in_order": kept}
    return Finding("priority_order", tuple(suggested), evidence,
                   f"order group {group!r} by how often each rule matches; the rules that "
                   "change places never match the same event, so every event still goes to "
                   "the same rule", drafts)


def _disjoint(x: Prepared, y: Prepared) -> bool:
    tx, ty = x.rule.trigger, y.rule.trigger
    for a, b in ((tx.event_type, ty.event_type), (tx.source, ty.source)):
        if not _globby(a) and not _globby(b) and a != b:
            return True
    return disjoint_dnf(x.terms or [], y.terms or []) if x.terms and y.terms else False


def _globby(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _order(members: Sequence[Prepared], before: Mapping[str, set[str]],
           matched: Mapping[str, int]) -> list[str]:
    """Topological order, the most matched first among the rules free to go."""
    rank = {p.id: i for i, p in enumerate(members)}
    waiting = {k: set(v) for k, v in before.items()}
    ready = [(-matched[k], rank[k], k) for k, v in waiting.items() if not v]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, _, rid = heapq.heappop(ready)
        out.append(rid)
        for other, needs in waiting.items():
            if rid in needs:
                needs.discard(rid)
                if not needs:
                    heapq.heappush(ready, (-matched[other], rank[other], other))
    return out


def _priorities(current: list[int]) -> list[int]:
    ordered = sorted(current, reverse=True)
    if len(set(ordered)) == len(ordered):
        return ordered
    return [10 * (len(current) - i) for i in range(len(current))]
