"""Acting on executions: start, cancel, signal, retry from the failed step, and in bulk.

Every action is a command on ``hw.commands``; the engine applies it. Answers are 202: the
command is in the log, its effect shows in the executions view once the engine has run it.

Idempotency: with an ``Idempotency-Key`` header, the execution id of a start (and the command
id of any action) is derived from the key, so a client that repeats a request after a
timeout starts nothing new: the engine applies a command id once.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header
from pydantic import BaseModel, Field

from projections.access import Principal, Right
from projections.auth import check, require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views.bodies import read_body
from projections.views.definitions import start_version
from projections.views.executions import ExecutionSummary, read_summary
from projections.views.listing import ExecutionFilter, list_executions
from schemas.commands import (
    CancelExecution,
    Priority,
    RetryExecution,
    SignalReceived,
    StartExecution,
)
from schemas.definitions.inputs import check_input, inputs_of

__all__ = ["BulkRequest", "BulkResult", "StartRequest", "executions_write_router",
           "idempotent_execution_id"]

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=256)]


class StartRequest(BaseModel):
    """What to start a workflow with."""

    input: dict[str, Any] = {}
    version: str | None = Field(default=None, description=(
        "an exact version or a range (^1.2, ~1.2.3, >=1.0 <2); default the newest active one"))
    trigger_type: Literal["manual", "api"] = "api"
    priority: Priority = Field(default="normal", description=(
        "its turn where executions wait for a slot (a workflow's concurrency_limit): "
        "higher first, then first come first served"))


class Accepted(BaseModel):
    """A command is in the log; ``existing`` says the views already knew the execution."""

    execution_id: str
    command_id: str
    existing: bool = False


class CancelRequest(BaseModel):
    """Why an execution is cancelled."""

    reason: str = ""


class SignalRequest(BaseModel):
    """The payload a signal carries to a waiting step."""

    payload: Any = None


class BulkRequest(BaseModel):
    """Retry or cancel every execution that matches a filter (and that the caller may run).

    Retry applies to failed executions, cancel to running, waiting and queued ones; ``dry_run`` (the default)
    only lists what would be acted on.
    """

    action: Literal["retry", "cancel"]
    workflow_id: str | None = None
    version: str | None = None
    trigger_type: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None
    dry_run: bool = True
    limit: int = Field(default=1000, ge=1, le=10_000)
    reason: str = ""


class BulkResult(BaseModel):
    """What a bulk action matched and how many commands it sent."""

    action: str
    dry_run: bool
    matched: list[str]
    sent: int
    truncated: bool


def idempotent_execution_id(workflow_id: str, key: str) -> str:
    """The execution id a start with ``Idempotency-Key: key`` gets, every time."""
    digest = hashlib.sha256(f"{workflow_id}\0{key}".encode()).hexdigest()[:20]
    return f"{workflow_id}-{digest}"


def _command_id(action: str, execution_id: str, key: str | None) -> str:
    if key is None:
        return f"{action}:{execution_id}:{uuid.uuid4().hex}"
    return f"{action}:{execution_id}:{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def input_refusal(definition: dict[str, Any] | None, payload: Any) -> list[ErrorItem]:
    """Each problem of a start's input against the version's declared inputs, with its path."""
    return [ErrorItem(path=p.path, code=p.code, message=p.message)
            for p in check_input(inputs_of(definition), payload)]


def executions_write_router(ctx: ApiContext) -> APIRouter:
    """Endpoints that send commands."""
    router = APIRouter(tags=["executions"])
    caller = Depends(ctx.tokens.dependency)

    @router.post("/workflows/{workflow_id}/executions", status_code=202,
                 summary="Start an execution (Idempotency-Key makes a repeat start nothing)")
    async def start(workflow_id: str, request: StartRequest, idempotency_key: IdempotencyKey = None,
                    who: Principal = caller) -> Accepted:
        record = ctx.definition("workflow", workflow_id)
        what = f"workflow {workflow_id!r}"
        if record is None:
            raise problem(404, f"{what} not found")
        check(who, Right.RUN, record.acl, what)
        resolved = start_version(record, workflow_id, request.version)
        if isinstance(resolved, tuple):
            raise problem(*resolved)
        refusal = input_refusal(read_body(ctx.store, "workflow", workflow_id, resolved),
                                request.input)
        if refusal:
            raise problem(422, f"the input does not match {what}'s declared inputs", refusal)
        execution_id = (f"{workflow_id}-{uuid.uuid4().hex[:12]}" if idempotency_key is None
                        else idempotent_execution_id(workflow_id, idempotency_key))
        command = StartExecution(command_id=f"start:{execution_id}", execution_id=execution_id,
                                 time=ctx.clock(), workflow_id=workflow_id,
                                 version=request.version, input=request.input,
                                 trigger_type=request.trigger_type, triggered_by=who.subject,
                                 priority=request.priority)
        existing = read_summary(ctx.store, execution_id) is not None
        await ctx.producer.send("commands", execution_id, command)
        return Accepted(execution_id=execution_id, command_id=command.command_id,
                        existing=existing)

    @router.post("/executions/{execution_id}/cancel", status_code=202, summary="Cancel")
    async def cancel(execution_id: str, request: CancelRequest | None = None,
                     idempotency_key: IdempotencyKey = None, who: Principal = caller) -> Accepted:
        summary = _runnable(ctx, who, execution_id, _LIVE, "cancel")
        command = CancelExecution(command_id=_command_id("cancel", execution_id, idempotency_key),
                                  execution_id=summary.execution_id, time=ctx.clock(),
                                  reason=(request or CancelRequest()).reason,
                                  requested_by=who.subject)
        await ctx.producer.send("commands", execution_id, command)
        return Accepted(execution_id=execution_id, command_id=command.command_id, existing=True)

    @router.post("/executions/{execution_id}/retry", status_code=202,
                 summary="Resume a failed execution from the step that failed")
    async def retry(execution_id: str, idempotency_key: IdempotencyKey = None,
                    who: Principal = caller) -> Accepted:
        _runnable(ctx, who, execution_id, ("failed",), "retry")
        command = RetryExecution(command_id=_command_id("retry", execution_id, idempotency_key),
                                 execution_id=execution_id, time=ctx.clock(),
                                 requested_by=who.subject)
        await ctx.producer.send("commands", execution_id, command)
        return Accepted(execution_id=execution_id, command_id=command.command_id, existing=True)

    @router.post("/executions/{execution_id}/signals/{name}", status_code=202,
                 summary="Send a named signal to a running execution")
    async def signal(execution_id: str, name: str, request: SignalRequest | None = None,
                     idempotency_key: IdempotencyKey = None, who: Principal = caller) -> Accepted:
        _runnable(ctx, who, execution_id, _LIVE, "signal")
        command = SignalReceived(command_id=_command_id(f"signal-{name}", execution_id,
                                                        idempotency_key),
                                 execution_id=execution_id, time=ctx.clock(), name=name,
                                 payload=(request or SignalRequest()).payload)
        await ctx.producer.send("commands", execution_id, command)
        return Accepted(execution_id=execution_id, command_id=command.command_id, existing=True)

    @router.post("/executions/bulk", summary="Retry or cancel by filter (dry run by default)")
    async def bulk(request: BulkRequest, who: Principal = caller) -> BulkResult:
        require(who, Right.RUN)
        matched, truncated = _matching(ctx, who, request)
        commands: list[tuple[str | None, Any]] = []
        if not request.dry_run:
            commands = [(x, _bulk_command(ctx, who, request, x)) for x in matched]
            await ctx.producer.send_many("commands", commands)
        return BulkResult(action=request.action, dry_run=request.dry_run, matched=matched,
                          sent=len(commands), truncated=truncated)

    return router


_LIVE = ("running", "waiting", "queued")
"""What cancel and signal reach: a queued execution (waiting for a concurrency slot) is
cancelled out of the queue, and a signal to it is buffered until it runs (the core's rules)."""


def _runnable(ctx: ApiContext, who: Principal, execution_id: str, statuses: tuple[str, ...],
              action: str) -> ExecutionSummary:
    summary = ctx.execution(who, Right.RUN, execution_id)
    if summary.status not in statuses:
        raise problem(409, f"cannot {action} execution {execution_id!r}: it is {summary.status}, "
                           f"not {' or '.join(statuses)}")
    return summary


def _matching(ctx: ApiContext, who: Principal, request: BulkRequest) -> tuple[list[str], bool]:
    matched: list[str] = []
    # A cancel reaches executions waiting on a timer, signal, event or their turn as well.
    for status in ("failed",) if request.action == "retry" else _LIVE:
        where = ExecutionFilter(workflow_id=request.workflow_id, workflow_version=request.version,
                                status=status, trigger_type=request.trigger_type,
                                started_after=request.started_after,
                                started_before=request.started_before)
        cursor: str | None = None
        while True:
            page = list_executions(ctx.store, where, limit=500, cursor=cursor)
            for summary in page.items:
                if ctx.may(who, Right.RUN, "workflow", summary.workflow_id):
                    if len(matched) == request.limit:
                        return matched, True
                    matched.append(summary.execution_id)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    return matched, False


def _bulk_command(ctx: ApiContext, who: Principal, request: BulkRequest,
                  execution_id: str) -> CancelExecution | RetryExecution:
    command_id = f"bulk-{request.action}:{execution_id}:{uuid.uuid4().hex}"
    if request.action == "retry":
        return RetryExecution(command_id=command_id, execution_id=execution_id,
                              time=ctx.clock(), requested_by=who.subject)
    return CancelExecution(command_id=command_id, execution_id=execution_id, time=ctx.clock(),
                           reason=request.reason, requested_by=who.subject)
