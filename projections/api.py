"""The HTTP API: health, metrics, the views (kept current by a projector in the same process),
definitions, commands, triggers, webhooks and live events. See docs/api.md."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from projections.admin_api import admin_router
from projections.auth import TokenTable
from projections.context import ApiContext
from projections.dead_letters_api import dead_letters_router
from projections.definitions_api import definitions_router
from projections.designer_api import designer_router
from projections.docs_ui import install_docs
from projections.errors import ERROR_RESPONSES, install_error_handlers
from projections.firings_api import firings_router
from projections.history_api import history_router
from projections.ingest_api import ingest_router
from projections.limits import KAFKA_RECORD_LIMIT, BodyLimitMiddleware
from projections.metrics import CONTENT_TYPE, Metrics, MetricsMiddleware
from projections.migrate_api import migrate_router
from projections.producer import EventProducer
from projections.projector import Projector
from projections.read_api import views_router
from projections.rules_api import rules_router
from projections.sse import Broadcaster, sse_router
from projections.store import MemoryStore, ViewStore
from projections.templates_api import bundled_templates, templates_router
from projections.watch import Condition, Monitor
from projections.webhooks import WebhookVerifier
from projections.write_api import executions_write_router

log = logging.getLogger(__name__)

UI_DIR = Path(__file__).with_name("ui")
"""The web UI's static files (docs/ui.md), served at ``/ui``."""


_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>headwater</title>
<p>The web UI has not been built. Run <code>make setup</code> (needs Node.js and npm), or
<code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>. The API itself is up: see
<a href="/docs">/docs</a>.</p>"""


class _UiFiles(StaticFiles):
    """The built single-page app (``ui/`` built by Vite into ``UI_DIR``).

    A path that names no file and has no extension is a client-side route (``/ui/executions/x``),
    so it gets ``index.html`` and the app's router takes over; a missing asset stays a 404.
    Counted by the metrics under the route ``/ui`` rather than "unmatched" (a mount sets no
    ``route`` in the scope; the middleware reads the same scope dict).
    """

    def __init__(self, path: str, directory: Path) -> None:
        super().__init__(directory=directory, html=True, check_dir=False)
        self.route = Mount(path, app=self)
        self.index = directory / "index.html"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route
        if not self.index.is_file():
            await HTMLResponse(_NOT_BUILT, status_code=503)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
        # index.html is never cached: it names the hashed assets of the current build
        return FileResponse(self.index, headers={"cache-control": "no-cache"})


@dataclass
class _KafkaProbe:
    """Asks Kafka for metadata at most once every `ttl_s` seconds."""

    bootstrap: str
    kafka_options: dict[str, Any] = field(default_factory=dict)
    ttl_s: float = 2.0
    _checked_at: float = 0.0
    _result: dict[str, Any] = field(default_factory=dict)

    async def check(self) -> dict[str, Any]:
        if time.monotonic() - self._checked_at < self.ttl_s and self._result:
            return self._result
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000,
                                **self.kafka_options)
        try:
            await asyncio.wait_for(client.bootstrap(), timeout=3)
            metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout=3)
            self._result = {"status": "ok", "brokers": len(metadata.brokers()),
                            "topics": len(metadata.topics())}
        except Exception as exc:  # health reports any failure, it never raises
            self._result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
        finally:
            await client.close()
        self._checked_at = time.monotonic()
        return self._result


@dataclass
class _Projecting:
    """Runs a projector for the API's lifetime, retrying its start until Kafka answers."""

    store: ViewStore
    bootstrap: str
    topics: dict[str, str]
    producer: EventProducer
    listeners: list[Callable[[list[Any]], None]] = field(default_factory=list)
    kafka_options: dict[str, Any] = field(default_factory=dict)
    running: Projector | None = None
    _task: asyncio.Task[None] | None = None
    also: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)
    """Tasks that live as long as the projector (the alert monitor)."""

    async def lag(self) -> int | None:
        """Records the views are behind the log, or None without a projector."""
        running = self.running
        return None if running is None else sum(p.lag for p in await running.lag())

    async def caught_up(self) -> None:
        """Return once a projector runs and has folded the log as it was then."""
        while self.running is None:
            await asyncio.sleep(0.2)
        await self.running.wait_caught_up(timeout_s=3600)

    async def _start(self) -> None:
        while True:
            projector = Projector(self.store, self.bootstrap, self.topics,
                                  kafka_options=self.kafka_options)
            projector.listeners.extend(self.listeners)
            try:
                await projector.start()
            except asyncio.CancelledError:
                await projector.stop()
                raise
            except Exception as exc:  # no broker or no topics yet: the API serves meanwhile
                log.warning("views not projecting yet: %s: %s", type(exc).__name__, exc)
                with contextlib.suppress(Exception):
                    await projector.stop()
                await asyncio.sleep(2.0)
                continue
            self.running = projector
            return

    @contextlib.asynccontextmanager
    async def lifespan(self, _: FastAPI) -> AsyncIterator[None]:
        self._task = asyncio.create_task(self._start())
        others = [asyncio.create_task(run()) for run in self.also]
        try:
            yield
        finally:
            for task in others:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.producer.stop()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            if self.running is not None:
                await self.running.stop()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_api(bootstrap: str, topics: dict[str, str], *, store: ViewStore | None = None,
               project: bool = True, clock: Callable[[], datetime] = _utc_now,
               tokens: TokenTable | None = None,
               webhooks: WebhookVerifier | None = None,
               body_limit: int = KAFKA_RECORD_LIMIT,
               kafka_options: Mapping[str, Any] | None = None,
               templates_dir: Path | None = None,
               alert_conditions: Sequence[Condition] = (),
               alert_check_s: float = 15.0) -> FastAPI:
    """The FastAPI application serving headwater's HTTP API.

    Args:
        bootstrap: Kafka bootstrap servers.
        topics: Role -> topic name (``infra.topics.topic_names``).
        store: Where the views live; in memory (rebuilt from the log at each start) if None.
            Pass a ``RocksStore`` to keep them across restarts.
        project: Run a projector in the API process that keeps ``store`` current. Off when
            another process projects into the same store, or in tests that fill it directly.
        clock: What "now" is for the dashboard, commands and webhook timestamps.
        tokens: API tokens; from ``HEADWATER_API_TOKENS`` if None (none: the API is open,
            everyone is an admin; see ``projections.auth``).
        webhooks: Webhook secrets; from ``HEADWATER_WEBHOOK_SECRETS`` and
            ``HEADWATER_WEBHOOK_SECRET`` if None.
        body_limit: Largest request body in bytes; a larger one is answered 413 before it
            is read (``projections.limits``).
        kafka_options: aiokafka's security keyword arguments (``Settings.kafka_client_options``)
            for every client the API builds.
        templates_dir: The bundled examples (``<dir>/workflows/*.yaml``), served as the
            default templates; none if None.
        alert_conditions: What the alert monitor watches (``projections.watch``); none: no
            monitor. Needs ``project``.
        alert_check_s: Time between two looks of the monitor.
    """
    options = dict(kafka_options or {})
    views = store if store is not None else MemoryStore()
    producer = EventProducer(bootstrap, topics, kafka_options=options)
    broadcaster = Broadcaster()
    projecting = _Projecting(views, bootstrap, topics, producer, [broadcaster.publish], options)
    ctx = ApiContext(views, producer, tokens if tokens is not None else TokenTable.from_env(),
                     clock)
    if alert_conditions:
        monitor = Monitor(views, producer, alert_conditions, lag=projecting.lag,
                          caught_up=projecting.caught_up, clock=clock, bootstrap=bootstrap,
                          topics=topics, kafka_options=options, interval_s=alert_check_s)
        projecting.also.append(monitor.run)
        api_monitor: Monitor | None = monitor
    else:
        api_monitor = None
    api = FastAPI(title="headwater", version="0.1.0",
                  description="Event-sourced workflow-automation and rules engine on Apache Kafka",
                  lifespan=projecting.lifespan if project else _closing(producer),
                  responses=ERROR_RESPONSES, docs_url=None, redoc_url=None)
    api.state.monitor = api_monitor  # the alert monitor, if any (tests wait for it)
    install_docs(api)
    install_error_handlers(api)
    metrics = Metrics(views, producer, lambda: projecting.running)
    api.add_middleware(MetricsMiddleware, metrics=metrics)
    api.add_middleware(BodyLimitMiddleware, limit=body_limit)
    probe = _KafkaProbe(bootstrap, options)
    running = lambda: projecting.running  # noqa: E731 - read at call time, set at startup
    api.include_router(views_router(ctx, running))
    api.include_router(rules_router(ctx))  # before /rules/{rule_id}: /rules/insights
    api.include_router(designer_router(ctx))  # before /definitions/{kind}/… and /workflows/{id}
    api.include_router(firings_router(ctx))
    api.include_router(definitions_router(ctx))
    api.include_router(history_router(ctx))
    api.include_router(executions_write_router(ctx))
    api.include_router(migrate_router(ctx))
    api.include_router(ingest_router(ctx, webhooks or WebhookVerifier.from_env(),
                                     on_webhook=metrics.count_webhook))
    api.include_router(sse_router(ctx, broadcaster))
    api.include_router(dead_letters_router(ctx))
    api.include_router(admin_router(ctx, running))
    api.include_router(templates_router(ctx, bundled_templates(templates_dir)))

    health_body = {"content": {"application/json": {"schema": {"type": "object"}}}}

    @api.get("/health", tags=["operations"], summary="Liveness and Kafka reachability",
             responses={"200": {"description": "Kafka answers", **health_body},
                        "503": {"description": "Kafka does not answer", **health_body}})
    async def health() -> JSONResponse:
        kafka = await probe.check()
        healthy = kafka.get("status") == "ok"
        body = {"status": "ok" if healthy else "degraded", "kafka": kafka,
                "topics": sorted(topics.values())}
        return JSONResponse(body, status_code=200 if healthy else 503)

    @api.get("/metrics", tags=["operations"], summary="Prometheus metrics",
             response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def prometheus() -> Response:
        return Response(await metrics.render(), media_type=CONTENT_TYPE)

    @api.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/ui/")

    api.mount("/ui", _UiFiles("/ui", UI_DIR), name="ui")
    return api


def _closing(producer: EventProducer) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await producer.stop()

    return lifespan
