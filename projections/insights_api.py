"""``GET /rules/insights`` and ``GET /rules/{rule_id}/insights``: the analyser over the views.

The rulebook is the newest active version of every rule; the observations come from the rule
statistics view; the traffic per event type from the event types those statistics count (the
views do not read ``hw.triggers``, so it is a lower bound). The evaluation cost of conditions
the index cannot use is measured here, on an event built from the rule's own constraints
(the analyser itself is pure and takes it as data).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from projections.access import Principal, Right, allowed
from projections.auth import check, require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.rulebook import active_rules
from projections.views.definitions import DefinitionRecord
from projections.views.rule_stats import RuleStats
from rules.conditions import compile_condition
from rules.insights import KINDS, Finding, RuleObservation, Traffic, analyse
from rules.insights.constraints import dnf
from schemas.definitions import ConditionError, RuleDefinition

__all__ = ["FindingOut", "InsightPage", "insights_routes", "rule_insights"]

limit_q = Annotated[int, Query(ge=1, le=500)]


class FindingOut(BaseModel):
    """One finding (see docs/rules.md, "Insights")."""

    key: str
    kind: str
    rules: list[str]
    evidence: dict[str, Any]
    suggestion: str
    drafts: list[dict[str, Any]]


class InsightPage(BaseModel):
    """A page of findings, most harmful kind first.

    Attributes:
        next_cursor: Pass it back as ``cursor`` for the next page; None on the last one.
    """

    items: list[FindingOut]
    next_cursor: str | None = None


CACHE_SECONDS = 30.0
"""How long one analysis answers (insights are about days of traffic, not seconds)."""


class _Cached:
    """The latest analysis, shared by the requests of one API instance."""

    def __init__(self) -> None:
        self.at = -CACHE_SECONDS
        self.value: tuple[list[Finding], dict[str, DefinitionRecord]] = ([], {})
        self.lock = asyncio.Lock()

    async def get(self, ctx: ApiContext) -> tuple[list[Finding], dict[str, DefinitionRecord]]:
        async with self.lock:  # one analysis at a time; the others wait and reuse it
            if time.monotonic() - self.at >= CACHE_SECONDS:
                inputs = rule_inputs(ctx)  # reads the views on the loop, as every read does
                # The analysis is pure CPU: off the loop, so the projector and reads go on.
                self.value = await asyncio.to_thread(_analyse, *inputs, ctx.clock())
                self.at = time.monotonic()
            return self.value


def insights_routes(router: APIRouter, ctx: ApiContext, caller: Any) -> None:
    """Add the two insight endpoints to ``router``."""
    cache = _Cached()

    @router.get("/rules/insights", summary="What to improve in the active rules",
                response_model=InsightPage)
    async def insights(kind: str | None = None, limit: limit_q = 50, cursor: str | None = None,
                       who: Principal = caller) -> InsightPage:
        require(who, Right.VIEW)
        _check_query(kind, cursor)
        found, records = await cache.get(ctx)
        visible = [f for f in found if all(
            r in records and allowed(who, Right.VIEW, records[r].acl) for r in f.rules)]
        return _page(visible, kind, limit, cursor)

    @router.get("/rules/{rule_id}/insights", summary="What to improve in one rule",
                response_model=InsightPage, responses={404: {"description": "No such rule"}})
    async def one_rule(rule_id: str, kind: str | None = None, limit: limit_q = 50,
                       cursor: str | None = None, who: Principal = caller) -> InsightPage:
        record = ctx.definition("rule", rule_id)
        what = f"rule {rule_id!r}"
        if record is None:
            raise problem(404, f"{what} not found")
        check(who, Right.VIEW, record.acl, what)
        _check_query(kind, cursor)
        found, records = await cache.get(ctx)
        mine = [f for f in found if rule_id in f.rules and all(
            r in records and allowed(who, Right.VIEW, records[r].acl) for r in f.rules)]
        return _page(mine, kind, limit, cursor)


def _check_query(kind: str | None, cursor: str | None) -> None:
    errors = []
    if kind is not None and kind not in KINDS:
        errors.append(ErrorItem(path="query.kind", code="unknown_kind",
                                message=f"one of {', '.join(KINDS)}"))
    if cursor is not None and (len(cursor) < 4 or not cursor[:2].isdigit() or cursor[2] != ":"):
        errors.append(ErrorItem(path="query.cursor", code="invalid_cursor",
                                message="not a cursor this API returned"))
    if errors:
        raise problem(422, "invalid request", errors)


def _sort_key(finding: Finding) -> str:
    return f"{KINDS.index(finding.kind):02d}:{','.join(finding.rules)}"


def _page(found: list[Finding], kind: str | None, limit: int, cursor: str | None
          ) -> InsightPage:
    chosen = sorted((f for f in found if kind is None or f.kind == kind), key=_sort_key)
    if cursor is not None:
        chosen = [f for f in chosen if _sort_key(f) > cursor]
    page = chosen[:limit]
    more = _sort_key(page[-1]) if len(chosen) > limit else None
    return InsightPage(items=[FindingOut.model_validate(f.as_json()) for f in page],
                       next_cursor=more)


Inputs = tuple[list[RuleDefinition], dict[str, RuleObservation], dict[str, Traffic],
               dict[str, DefinitionRecord]]


def rule_inputs(ctx: ApiContext) -> Inputs:
    """The active rulebook, the observations and the traffic, from the views."""
    rules: list[RuleDefinition] = []
    observations: dict[str, RuleObservation] = {}
    records: dict[str, DefinitionRecord] = {}
    traffic: dict[str, Traffic] = {}
    for record, rule, stats in active_rules(ctx.store):
        rules.append(rule)
        records[rule.id] = record
        if stats is not None:
            observations[rule.id] = observation(record, stats)
            _add_traffic(traffic, stats)
    return rules, observations, traffic, records


def _analyse(rules: list[RuleDefinition], observations: dict[str, RuleObservation],
             traffic: dict[str, Traffic], records: dict[str, DefinitionRecord], now: datetime,
             ) -> tuple[list[Finding], dict[str, DefinitionRecord]]:
    found = analyse(rules, observations, traffic, now, cost_us=measure_costs(rules))
    return found, records


def rule_insights(ctx: ApiContext) -> tuple[list[Finding], dict[str, DefinitionRecord]]:
    """Every finding over the active rulebook, and the rules' records (for access checks)."""
    return _analyse(*rule_inputs(ctx), ctx.clock())


def observation(record: DefinitionRecord, stats: RuleStats) -> RuleObservation:
    """The analyser's view of a rule's statistics."""
    active = [v.updated_at for v in record.versions.values() if v.status == "active"]
    return RuleObservation(
        evaluations=stats.evaluations, matched=stats.matched, deferred=stats.deferred,
        skipped=stats.skipped, failed=stats.failed, skip_reasons=stats.skip_reasons,
        errors=stats.errors, last_error=stats.last_error.message if stats.last_error else "",
        last_match=stats.last_match.at if stats.last_match else None,
        active_since=max(active, default=None))


def _add_traffic(traffic: dict[str, Traffic], stats: RuleStats) -> None:
    # Each rule saw a lower bound of each type's events; the largest is the best bound.
    for name, seen in stats.event_types.items():
        known = traffic.get(name)
        lasts = [t for t in (seen.last, known.last_seen if known else None) if t is not None]
        traffic[name] = Traffic(max(seen.events, known.events if known else 0),
                                max(lasts, default=None))


def measure_costs(rules: Iterable[RuleDefinition], rounds: int = 200) -> dict[str, float]:
    """µs per event of the conditions the index cannot use (the analyser reports them)."""
    costs: dict[str, float] = {}
    for rule in rules:
        try:
            compiled = compile_condition(rule.conditions)
        except ConditionError:
            continue
        if not rule.conditions or any(t.kind in ("eq", "range") for t in compiled.terms):
            continue
        event = sample_event(rule)
        test = compiled.test
        started = time.perf_counter_ns()
        for _ in range(rounds):
            test(event)
        costs[rule.id] = round((time.perf_counter_ns() - started) / rounds / 1000, 3)
    return costs


def sample_event(rule: RuleDefinition) -> dict[str, Any]:
    """An event with every field the first branch of the condition reads, set plausibly."""
    event: dict[str, Any] = {"id": "sample", "source": "sample", "type": "sample", "data": {}}
    terms = dnf(rule.conditions) or [()]
    for path, op, value in terms[0] if terms else ():
        if not path or op == "nex":
            continue
        sample = value if op in ("eq", "gt", "gte", "lt", "lte") else "sample"
        node = event
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node.get(part, {}), dict) else {}
        node[leaf] = sample
    return event
