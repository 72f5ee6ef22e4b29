"""Migrating running executions to another version of their workflow, one page at a time.

`POST /executions/migrate` takes executions by id or by a filter, and for each one says
whether it would move and every reason it would not. The verdict is the engine's own: the
API rebuilds the execution's state from its timeline (the executions view keeps every event)
and calls the state machine's `migration_problems`, which is what `migrate_execution`
decides with. Without ``dry_run`` it then sends `MigrateExecution` for the executions that
map; the engine checks again against its own, newer state (a step may have moved since), so a
refusal there is a `command_rejected` (``migration_refused``) in the execution's history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from projections.access import Principal, Right
from projections.auth import check
from projections.context import ApiContext
from projections.errors import problem
from projections.views.bodies import read_body
from projections.views.executions import ExecutionSummary, read_summary, read_timeline
from projections.views.listing import ExecutionFilter, list_executions
from schemas.commands import MigrateExecution
from schemas.definitions import WorkflowDefinition
from schemas.executions import parse_event
from streams.machine import Plan, compile_plan, replay
from streams.machine.migration import MIGRATABLE, migration_problems

__all__ = ["MigrateRequest", "MigrateResult", "MigrationItem", "migrate_router"]

_STATUSES = ("running", "waiting", "queued")
"""The order a filter walks the statuses a migration applies to (the cursor names one)."""


class MigrateRequest(BaseModel):
    """Which executions of one workflow move to which version, with which step mapping.

    Give ``execution_ids``, or a filter (``from_version``, ``status``, ``started_after``,
    ``started_before``; every running, waiting and queued execution of the workflow when none
    is set). ``dry_run`` (the default) only says what would happen.
    """

    workflow_id: str = Field(min_length=1)
    to_version: str = Field(min_length=1, description="the exact target version")
    mapping: dict[str, str] = Field(default_factory=dict, description=(
        "step id in the running version -> step id in the target; ids not named map to "
        "themselves"))
    execution_ids: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    from_version: str | None = None
    status: Literal["running", "waiting", "queued"] | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    dry_run: bool = True
    limit: int = Field(default=100, ge=1, le=1000, description="executions looked at per page")
    cursor: str | None = Field(default=None, max_length=512)


class Problem(BaseModel):
    """One reason an execution does not map (`streams.machine.migration.MigrationProblem`)."""

    code: str
    message: str
    step: str | None = None


class MigrationItem(BaseModel):
    """What a migration does to one execution.

    Attributes:
        migratable: It maps cleanly onto the target (as the views know it now).
        sent: The migration command was sent (not in a dry run, only if migratable).
        problems: Every reason it does not map.
    """

    execution_id: str
    from_version: str | None = None
    status: str | None = None
    migratable: bool
    sent: bool = False
    problems: list[Problem] = []


class MigrateResult(BaseModel):
    """One page of a migration; pass ``next_cursor`` back as ``cursor`` for the next."""

    dry_run: bool
    to_version: str
    items: list[MigrationItem]
    migratable: int
    refused: int
    sent: int
    next_cursor: str | None = None


def migrate_router(ctx: ApiContext) -> APIRouter:
    """The migration endpoint."""
    router = APIRouter(tags=["executions"])
    caller = Depends(ctx.tokens.dependency)

    @router.post("/executions/migrate", summary=(
        "Move running, waiting or queued executions to another version (dry run by default)"))
    async def migrate(request: MigrateRequest, who: Principal = caller) -> MigrateResult:
        what = f"workflow {request.workflow_id!r}"
        record = ctx.definition("workflow", request.workflow_id)
        if record is None:
            raise problem(404, f"{what} not found")
        check(who, Right.RUN, record.acl, what)
        plans = _Plans(ctx, request.workflow_id)
        target = plans.get(request.to_version)
        if target is None:
            raise problem(404, f"{what} has no version {request.to_version!r}")
        if request.execution_ids is not None:
            summaries, cursor = _by_id(ctx, request), None
        else:
            summaries, cursor = _by_filter(ctx, request)
        items = [_judge(ctx, plans, target, request, eid, summary) for eid, summary in summaries]
        sent = 0
        if not request.dry_run:
            commands: list[tuple[str | None, Any]] = [
                (item.execution_id, _command(ctx, who, request, item.execution_id))
                for item in items if item.migratable]
            await ctx.producer.send_many("commands", commands)
            for item in items:
                item.sent = item.migratable
            sent = len(commands)
        migratable = sum(item.migratable for item in items)
        return MigrateResult(dry_run=request.dry_run, to_version=target.version, items=items,
                             migratable=migratable, refused=len(items) - migratable, sent=sent,
                             next_cursor=cursor)

    return router


class _Plans:
    """The workflow's versions, compiled once per request."""

    def __init__(self, ctx: ApiContext, workflow_id: str) -> None:
        self._ctx, self._id, self._plans = ctx, workflow_id, dict[str, Plan | None]()

    def get(self, version: str) -> Plan | None:
        if version not in self._plans:
            body = read_body(self._ctx.store, "workflow", self._id, version)
            self._plans[version] = (None if body is None else
                                    compile_plan(WorkflowDefinition.model_validate(body)))
        return self._plans[version]


def _by_id(ctx: ApiContext, request: MigrateRequest) -> list[tuple[str, ExecutionSummary | None]]:
    assert request.execution_ids is not None
    if len(request.execution_ids) > request.limit:
        raise problem(422, f"execution_ids: at most limit ({request.limit}) ids at once")
    found: list[tuple[str, ExecutionSummary | None]] = []
    for execution_id in dict.fromkeys(request.execution_ids):
        summary = read_summary(ctx.store, execution_id)
        if summary is not None and summary.workflow_id != request.workflow_id:
            summary = None  # another workflow's execution is not reached through this one
        found.append((execution_id, summary))
    return found


def _by_filter(ctx: ApiContext, request: MigrateRequest) -> tuple[
        list[tuple[str, ExecutionSummary | None]], str | None]:
    statuses = _STATUSES if request.status is None else (request.status,)
    status, inner = statuses[0], None
    if request.cursor is not None:
        status, _, rest = request.cursor.partition(":")
        if status not in statuses:
            raise problem(422, "cursor: not a cursor of this migration")
        inner = rest or None
    found: list[tuple[str, ExecutionSummary | None]] = []
    for current in statuses[statuses.index(status):]:
        where = ExecutionFilter(workflow_id=request.workflow_id,
                                workflow_version=request.from_version, status=current,
                                started_after=request.started_after,
                                started_before=request.started_before)
        page = list_executions(ctx.store, where, limit=request.limit - len(found),
                               cursor=inner if current == status else None)
        found += [(s.execution_id, s) for s in page.items]
        if page.next_cursor is not None:
            return found, f"{current}:{page.next_cursor}"
        if len(found) >= request.limit:
            following = statuses[statuses.index(current) + 1:]
            return found, (f"{following[0]}:" if following else None)
    return found, None


def _judge(ctx: ApiContext, plans: _Plans, target: Plan, request: MigrateRequest,
           execution_id: str, summary: ExecutionSummary | None) -> MigrationItem:
    if summary is None:
        return MigrationItem(execution_id=execution_id, migratable=False, problems=[Problem(
            code="not_found", message=f"no execution {execution_id!r} of {request.workflow_id}")])
    item = MigrationItem(execution_id=execution_id, from_version=summary.workflow_version,
                         status=summary.status, migratable=False)
    if summary.status not in MIGRATABLE:
        item.problems = [Problem(code="not_running",
                                 message=f"the execution is {summary.status}")]
        return item
    state = replay(parse_event(e) for e in read_timeline(ctx.store, execution_id))
    source = plans.get(summary.workflow_version)
    if state is None or source is None:
        item.problems = [Problem(code="unknown_version", message=(
            f"version {summary.workflow_version} of the running execution is not known"))]
        return item
    found = migration_problems(state, source, target, request.mapping)
    item.problems = [Problem(code=p.code, message=p.message, step=p.step) for p in found]
    item.migratable = not found
    return item


def _command(ctx: ApiContext, who: Principal, request: MigrateRequest,
             execution_id: str) -> MigrateExecution:
    return MigrateExecution(command_id=f"migrate:{execution_id}:{uuid.uuid4().hex}",
                            execution_id=execution_id, time=ctx.clock(),
                            to_version=request.to_version, mapping=request.mapping,
                            requested_by=who.subject)
