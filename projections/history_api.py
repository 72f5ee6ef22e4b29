"""A definition's history, the diff between two of its versions, and comments.

``GET /definitions/{kind}/{id}/history`` lists, oldest first, each version published (by whom,
why), each status change and each comment; ``GET .../diff?from=&to=`` compares two published
bodies; ``POST .../comments`` writes a ``DefinitionCommented`` event to ``hw.definitions``
(it shows once the projector folds it) and ``GET .../comments`` lists them. Reading needs the
view right on the definition; commenting the run right (viewers only read).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel, Field

from projections.access import Principal, Right
from projections.auth import check
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views import read_body
from projections.views.definitions import DefinitionRecord
from projections.views.diff import Change, diff_definitions
from projections.views.history import HistoryEntry, page_history
from schemas.definition_events import DefinitionCommented

__all__ = ["CommentRequest", "DiffOut", "HistoryPage", "history_router"]

Kind = Literal["workflow", "rule"]
limit_q = Annotated[int, Query(ge=1, le=500)]


class HistoryPage(BaseModel):
    """One page of a definition's history (or its comments), oldest first."""

    items: list[HistoryEntry]
    next_cursor: str | None = None


class DiffOut(BaseModel):
    """What changed from one version to another."""

    kind: str
    definition_id: str
    from_version: str
    to_version: str
    changes: list[Change]


class CommentRequest(BaseModel):
    """A comment on the definition, or on one of its versions."""

    text: str = Field(min_length=1, max_length=4000)
    version: str | None = None


class CommentOut(BaseModel):
    """The comment that was written (listed once the views have folded it)."""

    key: str
    comment_id: str
    version: str | None
    author: str | None


def history_router(ctx: ApiContext) -> APIRouter:
    """History, diff and comments under ``/definitions/{kind}/{id}``."""
    router = APIRouter(tags=["definitions"])
    caller = Depends(ctx.tokens.dependency)

    def visible(kind: str, definition_id: str, who: Principal) -> DefinitionRecord:
        record = ctx.definition(kind, definition_id)
        what = f"{kind} {definition_id!r}"
        if record is None:
            raise problem(404, f"{what} not found")
        check(who, Right.VIEW, record.acl, what)
        return record

    @router.get("/definitions/{kind}/{definition_id}/history",
                summary="Versions published (by whom, why), status changes, comments")
    async def history(kind: Kind, definition_id: str, limit: limit_q = 100,
                      cursor: str | None = None, who: Principal = caller) -> HistoryPage:
        visible(kind, definition_id, who)
        items, more = page_history(ctx.store, kind, definition_id, limit=limit, cursor=cursor)
        return HistoryPage(items=items, next_cursor=more)

    @router.get("/definitions/{kind}/{definition_id}/diff",
                summary="The changes between two published versions")
    async def diff(kind: Kind, definition_id: str,
                   from_version: Annotated[str, Query(alias="from")],
                   to_version: Annotated[str, Query(alias="to")],
                   who: Principal = caller) -> DiffOut:
        record = visible(kind, definition_id, who)
        bodies = []
        for name, version in (("from", from_version), ("to", to_version)):
            body = (read_body(ctx.store, kind, definition_id, version)
                    if version in record.versions else None)
            if body is None:
                raise problem(404, f"{kind} {definition_id!r} has no version {version!r}", [
                    ErrorItem(path=f"query.{name}", code="unknown_version",
                              message=f"published: {', '.join(record.versions)}")])
            bodies.append(body)
        return DiffOut(kind=kind, definition_id=definition_id, from_version=from_version,
                       to_version=to_version, changes=diff_definitions(*bodies))

    @router.get("/definitions/{kind}/{definition_id}/comments",
                summary="Comments on a definition (all, or one version's), oldest first")
    async def comments(kind: Kind, definition_id: str, version: str | None = None,
                       limit: limit_q = 100, cursor: str | None = None,
                       who: Principal = caller) -> HistoryPage:
        visible(kind, definition_id, who)
        items, more = page_history(
            ctx.store, kind, definition_id, limit=limit, cursor=cursor,
            keep=lambda e: e.event == "commented" and (version is None or e.version == version))
        return HistoryPage(items=items, next_cursor=more)

    @router.post("/definitions/{kind}/{definition_id}/comments", status_code=202,
                 summary="Comment on a definition or one of its versions")
    async def comment(kind: Kind, definition_id: str, request: CommentRequest,
                      idempotency_key: Annotated[str | None, Header(
                          alias="Idempotency-Key", max_length=256)] = None,
                      who: Principal = caller) -> CommentOut:
        record = visible(kind, definition_id, who)
        check(who, Right.RUN, record.acl, f"{kind} {definition_id!r}")
        if request.version is not None and request.version not in record.versions:
            raise problem(404, f"{kind} {definition_id!r} has no version {request.version!r}")
        comment_id = (uuid.uuid4().hex[:16] if idempotency_key is None
                      else hashlib.sha256(idempotency_key.encode()).hexdigest()[:16])
        event = DefinitionCommented(kind=kind, definition_id=definition_id,
                                    version=request.version, comment_id=comment_id,
                                    author=who.subject, text=request.text,
                                    commented_at=ctx.clock())
        await ctx.producer.send("definitions", event.key, event)
        return CommentOut(key=event.key, comment_id=comment_id, version=request.version,
                          author=who.subject)

    return router
