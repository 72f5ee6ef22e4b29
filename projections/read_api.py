"""The read side of the HTTP API: every view, paginated where it is a list.

Handlers are ``async`` on purpose: they run on the event loop that also runs the projector,
so a read never sees half of a batch being written to an in-memory store.

The execution reads answer with the stored JSON records spliced together rather than
decoding them into models and encoding them again: the records are the models' own JSON
(``canonical_json``), and the OpenAPI document still names the models (``response_model``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel

from projections.access import ROLE_RIGHTS, Principal, Right, allowed
from projections.auth import check, require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.projector import Projector
from projections.views import (
    Dashboard,
    ExecutionFilter,
    ExecutionPage,
    ExecutionSummary,
    ExecutionView,
    LastError,
    LastMatch,
    RuleStats,
    Sketch,
    execution_json,
    list_executions_json,
    read_dashboard,
    read_rule_stats,
    read_workflow_stats,
    success_rate,
    valid_cursor,
)
from projections.views.definitions import DefinitionRecord, page_definitions, read_definition
from projections.views.executions import summary_key
from projections.views.listing import TIMELINE_LIMIT
from schemas.executions import ExecutionStatus

__all__ = ["LagReport", "Percentiles", "RuleStatsOut", "WorkflowStatsOut", "views_router"]


class Percentiles(BaseModel):
    """p50/p95/p99 of a distribution (None when it is empty), within 1 %."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None

    @classmethod
    def of(cls, sketch: Sketch) -> Percentiles:
        return cls(count=sketch.count, p50=sketch.quantile(0.5), p95=sketch.quantile(0.95),
                   p99=sketch.quantile(0.99))


class WorkflowStatsOut(BaseModel):
    """Statistics of one workflow's executions."""

    workflow_id: str
    total: int
    by_status: dict[str, int]
    success_rate: float | None
    duration_ms: Percentiles
    step_failures: dict[str, int]
    step_retries: dict[str, int]


class FiringCounts(BaseModel):
    """A rule's firings by how their actions ended (failed: any action failed)."""

    fired: int
    succeeded: int
    failed: int
    pending: int


class ActionCounts(BaseModel):
    """A rule's actions by how they ended; success_rate over the ended ones."""

    succeeded: int
    failed: int
    pending: int
    success_rate: float | None


class RuleStatsOut(BaseModel):
    """Statistics of one rule's evaluations, firings and actions.

    Attributes:
        action_ms: Time from the rule's evaluation to each action's end (the started
            execution's end, the webhook's answer, the signal's acceptance, the publish's ack).
    """

    rule_id: str
    evaluations: int
    matched: int
    skipped: int
    failed: int
    success_rate: float | None
    match_rate: float | None
    evaluation_us: Percentiles
    evaluation_us_mean: float | None
    skip_reasons: dict[str, int]
    errors: dict[str, int]
    last_match: LastMatch | None
    last_error: LastError | None
    firings: FiringCounts
    actions: ActionCounts
    action_ms: Percentiles


class PartitionLagOut(BaseModel):
    """How far the views are behind one partition."""

    topic: str
    partition: int
    position: int
    end: int
    lag: int


class WorkflowStatsPage(BaseModel):
    """Statistics of one page of workflows, by id (the workflows the caller may view)."""

    items: list[WorkflowStatsOut]
    next_cursor: str | None = None


class RuleStatsPage(BaseModel):
    """Statistics of one page of rules, by id (the rules the caller may view)."""

    items: list[RuleStatsOut]
    next_cursor: str | None = None


class CallerOut(BaseModel):
    """Who the token in the request is: the UI offers only what ``rights`` allow.

    Attributes:
        open: No tokens are configured, so everyone is an anonymous admin.
    """

    subject: str
    role: str
    rights: list[str]
    open: bool


class LagReport(BaseModel):
    """How far the views are behind the log, in records."""

    total: int
    partitions: list[PartitionLagOut]


def views_router(ctx: ApiContext, projector: Callable[[], Projector | None]) -> APIRouter:
    """The read endpoints over ``ctx.store``; ``ctx.clock`` says what "today" is.

    Every read needs the view right; an execution or statistics of a workflow or rule the
    caller may not view is a 404, and lists leave such executions out.
    """
    router = APIRouter(tags=["views"])
    store, clock = ctx.store, ctx.clock
    caller = Depends(ctx.tokens.dependency)

    @router.get("/me", summary="The caller: subject, role and the rights it grants")
    async def me(who: Principal = caller) -> CallerOut:
        return CallerOut(subject=who.subject, role=who.role, open=ctx.tokens.open,
                         rights=sorted(r.value for r in ROLE_RIGHTS[who.role]))

    @router.get("/executions", summary="List executions, newest first",
                response_model=ExecutionPage)
    async def executions(
        workflow_id: str | None = None, version: str | None = None,
        status: Annotated[ExecutionStatus | None, Query()] = None,
        trigger_type: str | None = None, started_after: datetime | None = None,
        started_before: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
        who: Principal = caller,
    ) -> Response:
        require(who, Right.VIEW)
        where = ExecutionFilter(workflow_id=workflow_id, workflow_version=version, status=status,
                                trigger_type=trigger_type, started_after=started_after,
                                started_before=started_before)
        if cursor is not None and not valid_cursor(cursor):
            raise problem(422, "invalid request", [ErrorItem(
                path="query.cursor", code="invalid_cursor",
                message="not a cursor this API returned")])
        body = list_executions_json(store, where, limit=limit, cursor=cursor,
                                    visible=_visibility(ctx, who))
        return Response(body, media_type="application/json")

    @router.get("/executions/{execution_id}", summary="One execution: timeline, variables, steps",
                response_model=ExecutionView,
                responses={404: {"description": "No such execution"}})
    async def execution(execution_id: str, timeline_after: Annotated[int, Query(ge=0)] = 0,
                        timeline_limit: Annotated[int, Query(ge=1, le=10_000)] = TIMELINE_LIMIT,
                        who: Principal = caller) -> Response:
        raw = store.get(summary_key(execution_id))
        what = f"execution {execution_id!r}"
        if raw is None:
            raise problem(404, f"{what} not found")
        if who.role != "admin":
            workflow_id = ExecutionSummary.model_validate_json(raw).workflow_id
            check(who, Right.VIEW, ctx.acl("workflow", workflow_id), what)
        body = execution_json(store, raw, execution_id, timeline_after=timeline_after,
                              timeline_limit=timeline_limit)
        return Response(body, media_type="application/json")

    @router.get("/workflows/{workflow_id}/stats", summary="Statistics of a workflow",
                responses={404: {"description": "No such workflow"}})
    async def workflow_stats(workflow_id: str, who: Principal = caller) -> WorkflowStatsOut:
        check(who, Right.VIEW, ctx.acl("workflow", workflow_id), f"workflow {workflow_id!r}")
        stats = read_workflow_stats(store, workflow_id)
        if stats is None:
            if read_definition(store, "workflow", workflow_id) is None:
                raise HTTPException(404, f"workflow {workflow_id!r} not found")
            return _workflow_out(workflow_id, {}, Sketch(), {}, {})
        return _workflow_out(workflow_id, stats.by_status, stats.durations_ms,
                             stats.step_failures, stats.step_retries)

    @router.get("/rules/{rule_id}/stats", summary="Statistics of a rule",
                responses={404: {"description": "No such rule"}})
    async def rule_stats(rule_id: str, who: Principal = caller) -> RuleStatsOut:
        check(who, Right.VIEW, ctx.acl("rule", rule_id), f"rule {rule_id!r}")
        stats = read_rule_stats(store, rule_id)
        if stats is None:
            if read_definition(store, "rule", rule_id) is None:
                raise HTTPException(404, f"rule {rule_id!r} not found")
            stats = RuleStats(rule_id=rule_id)
        return _rule_out(stats)

    def visible_page(kind: str, who: Principal, limit: int,
                     cursor: str | None) -> tuple[list[DefinitionRecord], str | None]:
        require(who, Right.VIEW)
        return page_definitions(store, kind, limit=limit, after=cursor,
                                keep=lambda r: allowed(who, Right.VIEW, r.acl))

    # A list page shows every row's statistics: one request for the page, not one per row.
    @router.get("/stats/workflows", summary="Statistics of a page of workflows, by id")
    async def workflows_stats(limit: Annotated[int, Query(ge=1, le=500)] = 50,
                              cursor: str | None = None,
                              who: Principal = caller) -> WorkflowStatsPage:
        records, more = visible_page("workflow", who, limit, cursor)
        items = []
        for record in records:
            stats = read_workflow_stats(store, record.definition_id)
            items.append(_workflow_out(record.definition_id, {}, Sketch(), {}, {}) if stats is None
                         else _workflow_out(record.definition_id, stats.by_status,
                                            stats.durations_ms, stats.step_failures,
                                            stats.step_retries))
        return WorkflowStatsPage(items=items, next_cursor=more)

    @router.get("/stats/rules", summary="Statistics of a page of rules, by id")
    async def rules_stats(limit: Annotated[int, Query(ge=1, le=500)] = 50,
                          cursor: str | None = None, who: Principal = caller) -> RuleStatsPage:
        records, more = visible_page("rule", who, limit, cursor)
        items = []
        for record in records:
            stats = read_rule_stats(store, record.definition_id)
            items.append(_rule_out(stats or RuleStats(rule_id=record.definition_id)))
        return RuleStatsPage(items=items, next_cursor=more)

    @router.get("/dashboard", summary="Counters and the hourly trend")
    async def dashboard(hours: Annotated[int, Query(ge=1, le=24 * 14)] = 24,
                        tz: str = "UTC", who: Principal = caller) -> Dashboard:
        require(who, Right.VIEW)
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise HTTPException(422, f"tz: unknown time zone {tz!r}") from None
        return read_dashboard(store, clock(), hours=hours, tz=zone)

    @router.get("/views/lag", summary="How far the views are behind the log",
                responses={503: {"description": "The projector is not running"}})
    async def lag(who: Principal = caller) -> LagReport:
        require(who, Right.VIEW)
        running = projector()
        if running is None:
            raise HTTPException(503, "the projector is not running")
        try:
            lags = await running.lag()
        except KafkaError as exc:  # Kafka slow or away: say so, as /health does
            raise problem(503, f"Kafka did not answer: {type(exc).__name__}") from None
        parts = [PartitionLagOut(topic=p.topic, partition=p.partition, position=p.position,
                                 end=p.end, lag=p.lag) for p in lags]
        return LagReport(total=sum(p.lag for p in parts), partitions=parts)

    return router


def _visibility(ctx: ApiContext, who: Principal) -> Callable[[str], bool] | None:
    """Whether ``who`` may view a workflow's executions; one definition read per workflow
    per request, none for an admin."""
    if who.role == "admin":
        return None
    seen: dict[str, bool] = {}

    def visible(workflow_id: str) -> bool:
        if workflow_id not in seen:
            seen[workflow_id] = ctx.may(who, Right.VIEW, "workflow", workflow_id)
        return seen[workflow_id]

    return visible


def _workflow_out(workflow_id: str, by_status: dict[str, int], durations: Sketch,
                  failures: dict[str, int], retries: dict[str, int]) -> WorkflowStatsOut:
    return WorkflowStatsOut(workflow_id=workflow_id, total=sum(by_status.values()),
                            by_status=by_status, success_rate=success_rate(by_status),
                            duration_ms=Percentiles.of(durations), step_failures=failures,
                            step_retries=retries)


def _rule_out(stats: RuleStats) -> RuleStatsOut:
    n = stats.evaluations
    return RuleStatsOut(
        rule_id=stats.rule_id, evaluations=n, matched=stats.matched, skipped=stats.skipped,
        failed=stats.failed, success_rate=stats.success_rate,
        match_rate=None if n == 0 else stats.matched / n,
        evaluation_us=Percentiles.of(stats.evaluation_us),
        evaluation_us_mean=None if n == 0 else stats.evaluation_us_total / n,
        skip_reasons=stats.skip_reasons, errors=stats.errors, last_match=stats.last_match,
        last_error=stats.last_error,
        firings=FiringCounts(fired=stats.fired, succeeded=stats.firings_succeeded,
                             failed=stats.firings_failed, pending=stats.firings_pending),
        actions=ActionCounts(succeeded=stats.actions_succeeded, failed=stats.actions_failed,
                             pending=stats.actions_pending,
                             success_rate=stats.action_success_rate),
        action_ms=Percentiles.of(stats.action_ms))
