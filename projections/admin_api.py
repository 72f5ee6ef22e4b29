"""``/admin``: operations on the API's own views (admins only). See docs/projections.md,
"Rebuilding a view"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from projections.access import Principal
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.projector import Projector
from projections.rebuild import VIEWS, Rebuild

__all__ = ["RebuildOut", "RebuildRequest", "admin_router"]


class RebuildRequest(BaseModel):
    """Which view to rebuild; every view when ``view`` is null."""

    view: str | None = Field(default=None, description=f"one of: {', '.join(VIEWS)}")


class RebuildOut(BaseModel):
    """Where the rebuild stands: ``applied`` of ``total`` records folded."""

    state: Literal["idle", "running", "done", "failed"]
    views: list[str]
    applied: int
    total: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


def admin_router(ctx: ApiContext, projector: Callable[[], Projector | None]) -> APIRouter:
    """``POST`` and ``GET /admin/views/rebuild``."""
    router = APIRouter(tags=["operations"])
    caller = Depends(ctx.tokens.dependency)
    rebuild = Rebuild()

    def admin(who: Principal) -> None:
        if who.role != "admin":
            raise problem(403, "only an admin rebuilds views")

    @router.post("/admin/views/rebuild", status_code=202,
                 summary="Rebuild a view (or all) from the log; the old one is served meanwhile")
    async def start(request: RebuildRequest, who: Principal = caller) -> RebuildOut:
        admin(who)
        running = projector()
        if running is None:
            raise problem(503, "the projector is not running: nothing to rebuild into")
        try:
            status = rebuild.start(running, request.view)
        except ValueError as exc:
            raise problem(422, "invalid request", [ErrorItem(
                path="body.view", code="unknown_view", message=str(exc))]) from None
        except RuntimeError as exc:
            raise problem(409, str(exc)) from None
        return RebuildOut(**vars(status))

    @router.get("/admin/views/rebuild", summary="Progress of the last rebuild")
    async def progress(who: Principal = caller) -> RebuildOut:
        admin(who)
        return RebuildOut(**vars(rebuild.status))

    return router
