"""Everything in `examples/` deployed and running at once on a real broker, for
tests/streams/test_examples.py.

One engine runs in this process (so that the trigger agent's clock can be moved to fire
schedules), the API runs in process over ASGI, the example external worker
`examples/workers/echo_worker.py` runs as users run it (a subprocess), a stand-in worker answers
the task types that stand for outside systems (`payments.charge`, `email.send`, ...), and a local
HTTP server plays every outside host. Outside hosts of the examples (`https://<name>.internal`,
`https://<name>.example`) are rewritten to that server (`http://127.0.0.1:<port>/<name>`), which
the `http_allow` setting lets HTTP steps reach; nothing else in the definitions changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from headwater.publish import Publisher
from headwater.settings import Settings
from infra.topics import create_topics_async, topic_names
from schemas.codec import Codec
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.tasks import TaskRequested
from schemas.validation import Definition, parse_text, validate_definition
from streams.engine import Engine
from streams.runtime.config import LoopConfig
from streams.triggers.schedules import fire_times
from streams.workers.secrets import SecretStore
from tests.streams.kit import Client, MovableClock, StandInWorker, Tail, running_engine

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
WEBHOOK_SECRET = "relay-secret"
_OUTSIDE_HOST = re.compile(r"https://([a-z0-9-]+\.(?:internal|example))")


@dataclass
class Request:
    """One request the local server received."""

    method: str
    path: str
    query: str
    body: Any


@dataclass
class Outside:
    """The local server's answers, by method and path (default `{"ok": true}`)."""

    requests: list[Request] = field(default_factory=list)

    def answer(self, request: Request) -> Any:
        path, body = request.path, request.body if isinstance(request.body, dict) else {}
        if path == "/inventory.internal/reservations":
            return {"id": f"res-{body.get('order')}"}
        if path == "/shipping.internal/shipments":
            return {"tracking_number": f"TRK-{body.get('order')}"}
        if path == "/warehouse.internal/sales":
            return {"rows": [{"amount": 120, "region": "eu"}, {"amount": 80, "region": "us"}]}
        if path == "/batch.internal/jobs":
            return {"id": "job-1"}
        if path == "/batch.internal/jobs/job-1":  # running at the first poll, then done
            polls = sum(r.path == path for r in self.requests)
            return {"state": "running" if polls <= 1 else "done"}
        if path.startswith("/app.internal/usage/"):
            return {"sessions": 5}
        return {"ok": True}

    def to(self, path: str, method: str | None = None) -> list[Request]:
        """The requests to `path` (and `method`), in order."""
        return [r for r in self.requests if r.path == path and method in (None, r.method)]


@contextlib.asynccontextmanager
async def outside_server() -> AsyncIterator[tuple[str, Outside]]:
    """The local server every outside host of the examples is rewritten to."""
    outside = Outside()

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = await request.json()
            except ValueError:
                body = raw.decode(errors="replace")
        seen = Request(request.method, request.path, request.query_string, body)
        outside.requests.append(seen)
        return web.json_response(outside.answer(seen))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", outside
    finally:
        await runner.cleanup()


def deployable(base_url: str) -> list[Definition]:
    """Every definition of examples/, its outside hosts pointed at `base_url`."""
    found: list[Definition] = []
    for file in sorted((EXAMPLES / "workflows").glob("*.yaml")) + sorted(
            (EXAMPLES / "rules").glob("*.yaml")):
        text = _OUTSIDE_HOST.sub(lambda m: f"{base_url}/{m.group(1)}", file.read_text())
        report = validate_definition(parse_text(text))
        assert report.definition is not None, f"{file.name}: {report.errors}"
        found.append(report.definition)
    return found


def next_fire_times(definitions: list[Definition], after: datetime) -> list[datetime]:
    """When each schedule of `definitions` fires next after `after`, oldest first."""
    specs: list[Any] = []
    for d in definitions:
        if isinstance(d, WorkflowDefinition):
            specs += [t for t in d.triggers if t.type == "schedule"]
        elif isinstance(d, RuleDefinition) and d.schedule is not None:
            specs.append(d.schedule)
    return sorted({fire_times(spec, after, after + timedelta(days=8))[0] for spec in specs})


STAND_INS: dict[str, Callable[[TaskRequested], Any]] = {
    "mail.export": lambda t: {"location": f"s3://archive/{t.params['user']}.tgz"},
    "payments.charge": lambda t: {"payment_id": f"pay-{t.params['amount']}"},
    "email.send": lambda t: {"sent": t.params["template"]},
    "pagerduty.page": lambda t: {"paged": t.params["who"]},
    "storage.purge": lambda t: {"purged": 12},
    "db.vacuum": lambda t: {"vacuumed": t.params["database"]},
    "secrets.rotate": lambda t: {"rotated": 3},
    "etl.extract": lambda t: {"table": t.params["table"], "rows": 3},
    "etl.join": lambda t: {"rows": 3},
    "etl.load": lambda t: {"loaded": 3},
    "lead-scoring": lambda t: {"score": 87},
    "mdm.wipe": lambda t: {"wiped": t.params["user"]},
    "gdrive.transfer": lambda t: {"to": t.params["to"]},
}
"""What the stand-in worker answers, per task type (the examples' outside systems)."""


@dataclass
class Showcase:
    """The running examples: what tests read and the handles they drive them with."""

    topics: dict[str, str]
    outside: Outside
    engine: Engine
    clock: MovableClock
    api: httpx.AsyncClient
    client: Client
    stand_in: StandInWorker
    executions: Tail
    outcomes: Tail
    triggers: Tail
    dead_letters: Tail
    definitions: list[Definition]
    drivers: list[asyncio.Task[None]] = field(default_factory=list)
    """The background tasks that drive the examples (a failed one fails the tests)."""


@contextlib.asynccontextmanager
async def showcase(bootstrap: str, data_dir: Path,
                   secure: dict[str, str] | None = None) -> AsyncIterator[Showcase]:
    """Deploy every example (as `headwater deploy` does) and run all the parts above.

    `secure`: the ``HEADWATER_KAFKA_*`` security settings of a secured cluster; every part
    (engine, API, external workers, the test's own clients) then connects with them.
    """
    from tests.projections.apikit import client_of, make_api

    prefix = f"t{uuid.uuid4().hex[:10]}."
    env = {k.removeprefix("HEADWATER_").lower(): v for k, v in (secure or {}).items()}
    options = Settings(**env).kafka_client_options()  # type: ignore[arg-type]
    await create_topics_async(bootstrap, prefix, partitions=6, client_options=options)
    topics = topic_names(prefix)
    settings = Settings(http_allow=["127.0.0.1"], topic_prefix=prefix)
    async with contextlib.AsyncExitStack() as stack:
        base_url, outside = await stack.enter_async_context(outside_server())
        definitions = deployable(base_url)
        async with Publisher(bootstrap, prefix, options) as publisher:
            await publisher.definitions(definitions)  # before the engine: it reads them first
        stack.enter_context(_echo_worker(bootstrap, prefix, data_dir, secure or {}))
        clock = MovableClock()
        # order-fulfilment names its services by secrets (`headwater up` points them at its stub)
        services = SecretStore({"INVENTORY_URL": f"{base_url}/inventory.internal",
                                "SHIPPING_URL": f"{base_url}/shipping.internal"})
        engine = await stack.enter_async_context(running_engine(
            bootstrap, topics, data_dir, http_allow=tuple(settings.http_allow), clock=clock,
            secrets=services, loop=LoopConfig(client_options=options)))
        api = make_api(bootstrap, topics, [], project=True, now=lambda: datetime.now(UTC),
                       secrets={"workflow/github-release-relay": [WEBHOOK_SECRET]},
                       kafka_options=options)
        executions, outcomes, triggers, dead_letters = [
            await stack.enter_async_context(Tail(bootstrap, topics[role], Codec(prefix=prefix),
                                                 options))
            for role in ("executions", "rule-outcomes", "triggers", "dead-letters")]
        yield Showcase(
            topics, outside, engine, clock,
            await stack.enter_async_context(client_of(api)),
            await stack.enter_async_context(Client(bootstrap, topics, options)),
            await stack.enter_async_context(StandInWorker(bootstrap, topics, STAND_INS, options)),
            executions, outcomes, triggers, dead_letters, definitions)


@contextlib.contextmanager
def _echo_worker(bootstrap: str, prefix: str, data_dir: Path, secure: dict[str, str]) -> Any:
    env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": bootstrap, "HEADWATER_TOPIC_PREFIX": prefix,
           "PYTHONPATH": str(ROOT), **secure}
    log = (data_dir / "echo-worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, str(EXAMPLES / "workers" / "echo_worker.py")],
                              env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
