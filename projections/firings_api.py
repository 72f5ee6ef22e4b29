"""``GET /rules/{rule_id}/firings``: a rule's firings, newest first, each with its event, the
condition tree it matched on and how each action ended (``views.firings``)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from projections.access import Principal, Right
from projections.auth import check
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views.definitions import read_definition
from projections.views.firings import FiringView, firing_prefix, read_firing, result_prefix

__all__ = ["FiringOut", "FiringPage", "firings_router"]

# `<complemented time>/<event id>`: the tail of a firing's key.
_CURSOR = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/.{1,1000}$", re.DOTALL)
Result = Literal["pending", "succeeded", "failed"]


class ActionOut(BaseModel):
    """How one action of the firing ended (``pending`` until it has).

    Attributes:
        ref: What the action produced: the execution id, the signal's command id or the
            published event's id.
        duration_ms: From the rule's evaluation to the action's end.
        http_status: The webhook's answer (``call_webhook``), when known.
    """

    index: int
    action_type: str
    ref: str | None
    status: Result
    ended_at: datetime | None
    duration_ms: float | None
    code: str | None
    message: str
    http_status: int | None


class FiringOut(BaseModel):
    """One firing of the rule."""

    event_id: str
    event_type: str
    rule_version: str
    evaluated_at: datetime
    result: Result
    conditions: Any
    actions: list[ActionOut]

    @classmethod
    def of(cls, firing: FiringView) -> FiringOut:
        return cls(event_id=firing.event_id, event_type=firing.event_type,
                   rule_version=firing.rule_version, evaluated_at=firing.evaluated_at,
                   result=firing.result, conditions=firing.condition_result,
                   actions=[ActionOut.model_validate(a.model_dump()) for a in firing.actions])


class FiringPage(BaseModel):
    """One page of firings, newest first; pass ``next_cursor`` back as ``cursor``."""

    items: list[FiringOut]
    next_cursor: str | None = None


def firings_router(ctx: ApiContext) -> APIRouter:
    """``GET /rules/{rule_id}/firings``."""
    router = APIRouter(tags=["rules"])
    caller = Depends(ctx.tokens.dependency)

    @router.get("/rules/{rule_id}/firings", summary="A rule's firings and their actions' ends",
                responses={404: {"description": "No such rule"}})
    async def firings(rule_id: str, result: Result | None = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50,
                      cursor: str | None = None, who: Principal = caller) -> FiringPage:
        check(who, Right.VIEW, ctx.acl("rule", rule_id), f"rule {rule_id!r}")
        if read_definition(ctx.store, "rule", rule_id) is None:
            raise problem(404, f"rule {rule_id!r} not found")
        if cursor is not None and not _CURSOR.match(cursor):
            raise problem(422, "cursor: not a next_cursor of this list", [ErrorItem(
                path="cursor", code="invalid_cursor", message="pass back a next_cursor")])
        return page(ctx, rule_id, result, limit, cursor)

    return router


def page(ctx: ApiContext, rule_id: str, result: str | None, limit: int,
         cursor: str | None) -> FiringPage:
    """Up to `limit` firings after `cursor`, optionally only those with `result`."""
    prefix = firing_prefix(rule_id) if result is None else result_prefix(rule_id, result)
    start = None if cursor is None else prefix + cursor
    items: list[FiringOut] = []
    last: str | None = None
    for key, _ in ctx.store.scan(prefix, start_after=start):
        if len(items) == limit:
            return FiringPage(items=items, next_cursor=last)
        tail = key[len(prefix):]
        firing = read_firing(ctx.store, firing_prefix(rule_id) + tail)
        if firing is not None:
            items.append(FiringOut.of(firing))
        last = tail
    return FiringPage(items=items)
