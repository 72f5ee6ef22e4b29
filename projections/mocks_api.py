"""``/workflows/{id}/test-mocks``: the answers pinned in the designer's test panel, per workflow.

Stored on the server (a ``MocksPinned`` event on ``hw.definitions``, folded into a view), so
they survive a reload and every designer of the workflow sees the same ones. A ``PUT``
replaces the whole set (the designer sends it after each pin or unpin); each mock is what
``POST /workflows/test`` takes, validated the same way. A step id no version of the workflow
has yet is accepted (the draft being edited may have it) and named in ``warnings``.
Reading needs the view right on the workflow, pinning the edit right.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from projections.access import Principal, Right
from projections.auth import check
from projections.context import ApiContext
from projections.designer_api import MockIn
from projections.errors import ErrorItem, problem
from projections.views import read_body
from projections.views.definitions import DefinitionRecord
from projections.views.pinned_mocks import read_mocks
from schemas.definitions._common import STEP_ID_PATTERN
from schemas.pinned_mocks import MocksPinned

__all__ = ["MAX_MOCKS", "PinnedMocksIn", "PinnedMocksOut", "pinned_mocks_router"]

MAX_MOCKS = 1000
"""The most steps one workflow's test panel pins (a workflow has at most that many steps)."""

StepKey = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN)]


class PinnedMocksIn(BaseModel):
    """The whole set of pinned mocks: by step id, ``{"output": …}``, ``{"error": {…}}`` or
    ``{}`` (echo)."""

    model_config = ConfigDict(extra="forbid")
    mocks: dict[StepKey, MockIn] = Field(max_length=MAX_MOCKS)


class PinnedMocksOut(BaseModel):
    """A workflow's pinned mocks (empty when none are pinned), who pinned them and when."""

    workflow_id: str
    mocks: dict[str, Any]
    pinned_by: str | None = None
    pinned_at: datetime | None = None
    warnings: list[ErrorItem] = []


def _steps(ctx: ApiContext, record: DefinitionRecord) -> set[str]:
    """Every step id of the workflow's versions (at any depth)."""
    found: set[str] = set()

    def walk(steps: Any) -> None:
        for step in steps or ():
            if isinstance(step, dict):
                found.add(str(step.get("id")))
                walk(step.get("steps"))
                for branch in step.get("branches") or ():
                    if isinstance(branch, dict):
                        walk(branch.get("steps"))

    for version in record.versions:
        body = read_body(ctx.store, "workflow", record.definition_id, version)
        walk((body or {}).get("steps"))
    return found


def pinned_mocks_router(ctx: ApiContext) -> APIRouter:
    """``GET`` and ``PUT /workflows/{workflow_id}/test-mocks``."""
    router = APIRouter(tags=["designer"])
    caller = Depends(ctx.tokens.dependency)

    def workflow(workflow_id: str, who: Principal, right: Right) -> DefinitionRecord:
        record = ctx.definition("workflow", workflow_id)
        what = f"workflow {workflow_id!r}"
        if record is None:
            raise problem(404, f"{what} not found")
        check(who, right, record.acl, what)
        return record

    @router.get("/workflows/{workflow_id}/test-mocks",
                summary="The test-run answers pinned in the designer for a workflow",
                responses={404: {"description": "No such workflow"}})
    async def get_mocks(workflow_id: str, who: Principal = caller) -> PinnedMocksOut:
        workflow(workflow_id, who, Right.VIEW)
        pinned = read_mocks(ctx.store, workflow_id)
        if pinned is None:
            return PinnedMocksOut(workflow_id=workflow_id, mocks={})
        return PinnedMocksOut(workflow_id=workflow_id, mocks=pinned.mocks,
                              pinned_by=pinned.pinned_by, pinned_at=pinned.pinned_at)

    @router.put("/workflows/{workflow_id}/test-mocks", status_code=202,
                summary="Replace the test-run answers pinned for a workflow",
                responses={404: {"description": "No such workflow"}})
    async def put_mocks(workflow_id: str, body: PinnedMocksIn,
                        who: Principal = caller) -> PinnedMocksOut:
        record = workflow(workflow_id, who, Right.EDIT)
        known = _steps(ctx, record)
        warnings = [ErrorItem(path=f"body.mocks.{step}", code="unknown_step",
                              message=f"no version of {workflow_id!r} has a step {step!r} yet")
                    for step in body.mocks if step not in known]
        mocks = {step: mock.model_dump(mode="json", exclude_unset=True)
                 for step, mock in body.mocks.items()}
        event = MocksPinned(workflow_id=workflow_id, mocks=mocks, pinned_by=who.subject,
                            pinned_at=ctx.clock())
        await ctx.producer.send("definitions", event.key, event)
        return PinnedMocksOut(workflow_id=workflow_id, mocks=mocks, pinned_by=who.subject,
                              pinned_at=event.pinned_at, warnings=warnings)

    return router
