"""An API over known views that writes to the real broker, and readers of what it wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from projections import create_api
from projections.access import Principal
from projections.auth import TokenTable
from projections.store import MemoryStore
from projections.views import fold
from projections.webhooks import WebhookVerifier
from schemas.codec import Codec
from schemas.definition_events import DefinitionPublished
from tests.projections.histories import T0
from tests.streams.kit import read_until

NOW = T0 + timedelta(hours=1)

TOKENS = {
    "t-admin": Principal(subject="root", role="admin"),
    "t-editor": Principal(subject="alice", role="editor"),
    "t-operator": Principal(subject="olga", role="operator"),
    "t-viewer": Principal(subject="vic", role="viewer"),
    "t-other-editor": Principal(subject="eve", role="editor"),
}


def owned(kind: str, definition_id: str, owner: str | None = None, *,
          collaborators: Sequence[str] = (), visibility: str = "team",
          version: str = "1.0.0", status: str = "active",
          steps: list[dict[str, Any]] | None = None) -> DefinitionPublished:
    """A published definition with an owner, collaborators and visibility (and ``steps``, for
    a workflow body that must validate)."""
    body: dict[str, Any] = {"id": definition_id, "name": definition_id.title(),
                            "collaborators": list(collaborators), "visibility": visibility}
    if steps is not None:
        body["steps"] = steps
    if owner is not None:
        body["owner"] = owner
    return DefinitionPublished(kind=kind, definition_id=definition_id, version=version,  # type: ignore[arg-type]
                               definition=body, status=status, published_at=T0,  # type: ignore[arg-type]
                               checksum=f"sum-{definition_id}-{version}")


def make_api(bootstrap: str, topics: dict[str, str], events: Iterable[BaseModel], *,
             tokens: TokenTable | None = None, secrets: dict[str, list[str]] | None = None,
             now: Any = NOW, project: bool = False,
             kafka_options: Mapping[str, Any] | None = None) -> FastAPI:
    """The API over views folded from ``events``; its writes go to the real broker."""
    store = MemoryStore()
    store.write(fold(store, list(events)))
    clock = now if callable(now) else (lambda: now)
    return create_api(bootstrap, topics, store=store, project=project, clock=clock,
                      tokens=tokens or TokenTable(), webhooks=WebhookVerifier(secrets or {}),
                      kafka_options=kafka_options)


@asynccontextmanager
async def client_of(api: FastAPI, token: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of ``api`` (its lifespan runs for the block)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with api.router.lifespan_context(api), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=api), base_url="http://api",
            headers=headers) as client:
        yield client


@asynccontextmanager
async def served(api: FastAPI) -> AsyncIterator[str]:
    """``api`` served by uvicorn on a free port for the block (streams need a real server:
    httpx's ASGI transport waits for the whole body); yields its base URL."""
    import asyncio

    import uvicorn

    from tests.support import free_ports

    port = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        server.force_exit = True  # open event streams would hold a graceful shutdown
        await task


async def read_records(bootstrap: str, topic: str, count: int, prefix: str) -> list[Any]:
    """The first ``count`` decoded values of ``topic`` (fails if fewer arrive in time)."""
    return await read_until(bootstrap, topic, Codec(prefix=prefix),
                            lambda found: len(found) >= count, timeout_s=20)
