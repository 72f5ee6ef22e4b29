"""Server-sent events: live updates of one execution, and of every execution.

``GET /executions/{id}/events`` replays the execution's timeline from the views (after
``Last-Event-ID``, the ``seq`` of the last event the client saw) and then follows it until the
execution finishes. ``GET /events`` streams every execution event the projector folds from
now on, as far as the caller may view its workflow. Both send a comment every
``heartbeat_s`` so proxies keep the connection open.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from projections.access import Principal, Right
from projections.context import ApiContext
from projections.views.executions import read_summary, timeline_prefix
from schemas.executions import ExecutionEventBase

__all__ = ["Broadcaster", "sse_router"]

_STREAM = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                 "description": "A stream of server-sent events"}}


def _frame(event_id: str | int | None, kind: str, data: bytes) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: ".encode() + data + b"\n\n"


class Broadcaster:
    """Fans the projector's folded events out to ``/events`` subscribers.

    A subscriber that falls ``queue_size`` events behind loses the oldest ones (and is told
    so) rather than slowing the projector down.
    """

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._queues: set[asyncio.Queue[ExecutionEventBase | None]] = set()

    def publish(self, events: Iterable[BaseModel]) -> None:
        """Called by the projector after each committed batch."""
        if not self._queues:
            return
        for event in events:
            if isinstance(event, ExecutionEventBase):
                for queue in self._queues:
                    if queue.full():
                        # Drop the two oldest so both the marker and the event fit: a slow
                        # client misses events, never everybody else's batch.
                        queue.get_nowait()
                        queue.get_nowait()
                        queue.put_nowait(None)  # None marks "you missed some"
                    queue.put_nowait(event)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[ExecutionEventBase | None]]:
        """A queue that receives every event from now until the block ends."""
        queue: asyncio.Queue[ExecutionEventBase | None] = asyncio.Queue(max(2, self.queue_size + 1))
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def sse_router(ctx: ApiContext, broadcaster: Broadcaster, *, poll_s: float = 0.2,
               heartbeat_s: float = 15.0) -> APIRouter:
    """The two streams."""
    router = APIRouter(tags=["live"])
    caller = Depends(ctx.tokens.dependency)

    async def follow(execution_id: str, after: int) -> AsyncIterator[bytes]:
        idle = 0.0
        while True:
            start = f"{timeline_prefix(execution_id)}{after:012d}"
            sent = False
            for _, value in ctx.store.scan(timeline_prefix(execution_id), start_after=start):
                event = orjson.loads(value)
                after = int(event["seq"])
                sent = True
                yield _frame(after, str(event.get("type", "event")), value)
            summary = read_summary(ctx.store, execution_id)
            if summary is not None and summary.finished and summary.last_seq <= after:
                yield _frame(None, "end", orjson.dumps({"status": summary.status}))
                return
            idle = 0.0 if sent else idle + poll_s
            if idle >= heartbeat_s:
                idle = 0.0
                yield b": heartbeat\n\n"
            await asyncio.sleep(poll_s)

    @router.get("/executions/{execution_id}/events", responses=_STREAM,  # type: ignore[arg-type]
                summary="Follow one execution's events live (server-sent events)")
    async def execution_events(
            execution_id: str, who: Principal = caller,
            last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
            after: Annotated[int, Query(ge=0)] = 0) -> StreamingResponse:
        ctx.execution(who, Right.VIEW, execution_id)
        start = max(after, last_event_id or 0)
        return StreamingResponse(follow(execution_id, start), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    async def everything(who: Principal) -> AsyncIterator[bytes]:
        with broadcaster.subscribe() as queue:
            yield b": subscribed\n\n"
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=heartbeat_s)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                if event is None:
                    yield _frame(None, "dropped", b"{}")
                    continue
                summary = read_summary(ctx.store, event.execution_id)
                workflow = summary.workflow_id if summary is not None else ""
                if ctx.may(who, Right.VIEW, "workflow", workflow):
                    data = event.model_dump_json().encode()
                    yield _frame(f"{event.execution_id}:{event.seq}",
                                 str(getattr(event, "type", "event")), data)

    @router.get("/events", responses=_STREAM,  # type: ignore[arg-type]
                summary="Every execution event from now on (server-sent events)")
    async def events(who: Principal = caller) -> StreamingResponse:
        return StreamingResponse(everything(who), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})

    return router
