"""``GET /workflows``, ``/rules`` and one of each: the catalogue as Temporal and n8n users
look for it, over the same definitions view as ``/definitions`` (which stays).

Lists are by id, paginated with a cursor, filtered by status; a definition the caller may
not view is left out of a list (a page is still filled up to ``limit``) and answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from projections.access import Principal, Right, allowed
from projections.auth import check, require
from projections.context import ApiContext
from projections.definitions_api import DefinitionOut
from projections.errors import problem
from projections.views.definitions import DefinitionRecord, page_definitions
from schemas.definition_events import DefinitionStatus

__all__ = ["DefinitionPage", "catalogue_router"]

# Module level: FastAPI resolves the handlers' string annotations in this namespace.
limit_q = Annotated[int, Query(ge=1, le=500)]
status_q = Annotated[DefinitionStatus | None, Query(
    description="only those with a version in this status")]


class DefinitionPage(BaseModel):
    """One page of workflows or rules, by id.

    Attributes:
        next_cursor: Pass it back as ``cursor`` for the next page; None on the last one.
    """

    items: list[DefinitionOut]
    next_cursor: str | None = None


def catalogue_router(ctx: ApiContext) -> APIRouter:
    """``GET /workflows``, ``/workflows/{id}``, ``/rules``, ``/rules/{id}``."""
    router = APIRouter(tags=["definitions"])
    caller = Depends(ctx.tokens.dependency)

    def page(kind: str, who: Principal, status: str | None, limit: int,
             cursor: str | None) -> DefinitionPage:
        require(who, Right.VIEW)

        def keep(record: DefinitionRecord) -> bool:
            wanted = status is None or any(v.status == status for v in record.versions.values())
            return wanted and allowed(who, Right.VIEW, record.acl)

        records, more = page_definitions(ctx.store, kind, limit=limit, after=cursor, keep=keep)
        return DefinitionPage(items=[DefinitionOut.of(r) for r in records], next_cursor=more)

    def one(kind: str, definition_id: str, who: Principal) -> DefinitionOut:
        record = ctx.definition(kind, definition_id)
        what = f"{kind} {definition_id!r}"
        if record is None:
            raise problem(404, f"{what} not found")
        check(who, Right.VIEW, record.acl, what)
        return DefinitionOut.of(record)

    @router.get("/workflows", summary="Workflows with their versions, by id")
    async def workflows(status: status_q = None, limit: limit_q = 50, cursor: str | None = None,
                        who: Principal = caller) -> DefinitionPage:
        return page("workflow", who, status, limit, cursor)

    @router.get("/workflows/{workflow_id}", summary="One workflow and its versions",
                responses={404: {"description": "No such workflow"}})
    async def workflow(workflow_id: str, who: Principal = caller) -> DefinitionOut:
        return one("workflow", workflow_id, who)

    @router.get("/rules", summary="Rules with their versions, by id")
    async def rules(status: status_q = None, limit: limit_q = 50, cursor: str | None = None,
                    who: Principal = caller) -> DefinitionPage:
        return page("rule", who, status, limit, cursor)

    @router.get("/rules/{rule_id}", summary="One rule and its versions",
                responses={404: {"description": "No such rule"}})
    async def rule(rule_id: str, who: Principal = caller) -> DefinitionOut:
        return one("rule", rule_id, who)

    return router
