"""HTTP API under load: execution queries and trigger ingestion with 100 concurrent clients,
and how far the views fall behind the log while the engine runs bench.e2e's load.

The API runs in its own process (uvicorn as `headwater api` runs it, one worker, views in
memory, projecting the log); this process is the clients. Figures:

* ``GET /executions/{id}`` (random ids) and ``GET /executions?limit=50`` (also filtered by
  workflow and by status): requests/s, p50, p99;
* ``POST /triggers`` (one structured CloudEvent) and ``POST /triggers/batch`` (100 events);
* references measured in the same run: the same reads called in-process on the same views
  (no HTTP); 100 concurrent ``send_and_wait`` of the same events straight to Kafka; and the
  single read through httpx instead of aiohttp (the client is part of what is measured:
  httpx's pool was the first bottleneck found);
* projection lag: a worker process runs bench.e2e's 3-step workflow (a burst of starts, then
  a paced run) while a thread samples ``/views/lag`` every 100 ms: per view (source topic),
  records behind the log end, max / p99 / p50 over the run, and the time to catch up.

Run: ``.venv/bin/python -m bench.api [--seconds 5] [--clients 100] [--executions 20000]
[--json]`` or ``headwater bench api``. Uses ``HEADWATER_KAFKA_BOOTSTRAP`` or starts a
throwaway local broker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._broker import broker, machine
from infra.topics import create_topics, create_topics_async
from schemas.codec import Codec
from schemas.executions import ExecutionCompleted, ExecutionStarted, StepCompleted
from schemas.triggers import TriggerEvent

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIGURES_ENV = "HEADWATER_BENCH_FIGURES"
"""When set, the figures are also written there as JSON (``headwater bench api --json``)."""


class Report:
    """Prints figures as they come (to stderr with ``--json``) and keeps them for JSON."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.figures: dict[str, Any] = {}

    def say(self, text: str) -> None:
        """Print one line for people."""
        print(text, file=sys.stderr if self.as_json else sys.stdout, flush=True)

    def show(self, name: str, figures: dict[str, float], unit: str = "req/s") -> None:
        """Keep and print one load's figures (from ``load``)."""
        self.figures[name] = {k: round(v, 3) for k, v in figures.items()} | {"unit": unit}
        self.say(f"  {name:<46} {figures['rps']:>9,.0f} {unit}  p50 {figures['p50_ms']:7.2f} ms  "
                 f"p99 {figures['p99_ms']:7.2f} ms  (n={figures['n']:,.0f}, "
                 f"errors={figures['errors']:.0f})")

    def finish(self) -> None:
        """Print the figures as JSON (``--json``) and write them where the CLI asked."""
        text = orjson.dumps(self.figures, option=orjson.OPT_INDENT_2).decode()
        if self.as_json:
            print(text)
        if path := os.environ.get(FIGURES_ENV):
            Path(path).write_text(text)


def execution_events(i: int) -> list[Any]:
    """A three-event history of execution ``b-<i>``."""
    x, at = f"b-{i}", T0 + timedelta(seconds=i)
    return [ExecutionStarted(execution_id=x, seq=1, time=at, command_id="c1", workflow_id=f"wf-{i % 20}",
                             workflow_version="1.0.0", trigger_type="api", input={"i": i}),
            StepCompleted(execution_id=x, seq=2, time=at, command_id="c2", step_id="a", output={"ok": 1}),
            ExecutionCompleted(execution_id=x, seq=3, time=at + timedelta(seconds=1), command_id="c3")]


async def produce_executions(bootstrap: str, prefix: str, start: int, count: int) -> float:
    """Write ``count`` histories; return the seconds it took."""
    codec, topic = Codec(prefix=prefix), f"{prefix}executions"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    began = time.perf_counter()
    try:
        for i in range(start, start + count):
            key = codec.encode_key(topic, f"b-{i}")
            for event in execution_events(i):
                await producer.send(topic, codec.encode_value(topic, event), key=key)
        await producer.flush()
    finally:
        await producer.stop()
    return time.perf_counter() - began


def trigger(i: int) -> dict[str, Any]:
    """A structured CloudEvent of a demo order."""
    return {"specversion": "1.0", "id": f"t-{uuid.uuid4().hex}", "source": "/bench", "type": "order.placed",
            "subject": f"order-{i}", "data": {"order_id": i, "total": i % 9000}}


async def load(clients: int, seconds: float, call: Callable[[int], Awaitable[None]]) -> dict[str, float]:
    """``clients`` loops calling ``call`` for ``seconds``: requests/s, p50 and p99 in ms."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        nonlocal errors
        i = n
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                await call(i)
            except Exception:
                errors += 1
            latencies.append(time.perf_counter() - began)
            i += clients

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    took = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {"rps": len(latencies) / took, "p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000,
            "n": len(latencies), "errors": errors}


def serve(bootstrap: str, prefix: str, port: int) -> subprocess.Popen[bytes]:
    """The API as `headwater api` serves it (uvicorn picks uvloop and httptools)."""
    code = ("import uvicorn; from projections import create_api; from infra.topics import topic_names; "
            f"uvicorn.run(create_api({bootstrap!r}, topic_names({prefix!r})), host='127.0.0.1', "
            f"port={port}, log_level='warning')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_API_TOKENS")}
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[1])


async def wait_caught_up(http: aiohttp.ClientSession, base: str, timeout_s: float = 300) -> float:
    """Seconds until ``/views/lag`` reports nothing behind."""
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        async with http.get(f"{base}/views/lag") as response:
            if response.status == 200 and (await response.json())["total"] == 0:
                return time.perf_counter() - began
        await asyncio.sleep(0.1)
    raise TimeoutError("the views did not catch up")


async def direct_kafka(bootstrap: str, prefix: str, clients: int, seconds: float) -> dict[str, float]:
    codec, topic = Codec(prefix=prefix), f"{prefix}triggers"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=2)
    await producer.start()
    try:
        async def send(i: int) -> None:
            event = TriggerEvent.model_validate(trigger(i))
            await producer.send_and_wait(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, event.key))

        return await load(clients, seconds, send)
    finally:
        await producer.stop()


async def in_process(executions: int, seconds: float) -> dict[str, float]:
    from projections.store import MemoryStore
    from projections.views import fold, get_execution

    store = MemoryStore()
    store.write(fold(store, [e for i in range(executions) for e in execution_events(i)]))

    async def read(i: int) -> None:
        get_execution(store, f"b-{random.randrange(executions)}")

    return await load(1, seconds, read)


def main(args: argparse.Namespace) -> None:
    report = Report(args.json)
    report.say(f"bench/api.py on {machine()}")
    from tests.support import free_ports

    # Its own port: other benchmarks start throwaway brokers on the default one.
    with broker(port=free_ports(2)) as bootstrap:  # starts its own loop: outside ours
        prefix = f"bench{uuid.uuid4().hex[:6]}."
        create_topics(bootstrap, prefix, partitions=6)
        asyncio.run(measure(args, bootstrap, prefix, report))
    report.finish()


async def measure(args: argparse.Namespace, bootstrap: str, prefix: str, report: Report) -> None:
    took = await produce_executions(bootstrap, prefix, 0, args.executions)
    report.say(f"  wrote {args.executions:,} executions ({3 * args.executions:,} events) in {took:.1f} s")
    port = 28000 + random.randrange(1000)
    api = serve(bootstrap, prefix, port)
    base = f"http://127.0.0.1:{port}"
    connector = aiohttp.TCPConnector(limit=args.clients)
    try:
        async with aiohttp.ClientSession(connector=connector,
                                         timeout=aiohttp.ClientTimeout(total=120)) as http:
            await _ready(http, base)
            built = await wait_caught_up(http, base)
            report.figures["views_built_s"] = round(built, 2)
            report.say(f"  views built from the log in {built:.1f} s")
            await run_loads(http, base, args, bootstrap, prefix, report)
    finally:
        api.terminate()
        api.wait(20)
    if args.e2e_executions:
        await lag_phase(bootstrap, args, report)


async def lag_phase(bootstrap: str, args: argparse.Namespace, report: Report) -> None:
    """The lag under bench.e2e's load, on fresh topics: the engine must not meet the
    synthetic histories above (their steps were never scheduled) and the views start empty."""
    from bench.api_lag import lag_under_e2e_load

    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await create_topics_async(bootstrap, prefix, partitions=6)
    port = 28000 + random.randrange(1000)
    api = serve(bootstrap, prefix, port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await _ready(http, base)
            await wait_caught_up(http, base)
        await lag_under_e2e_load(base, bootstrap, prefix, args, report)
    finally:
        api.terminate()
        api.wait(20)


async def _ready(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(600):
        try:
            async with http.get(f"{base}/openapi.json") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("the API did not start")


async def run_loads(http: aiohttp.ClientSession, base: str, args: argparse.Namespace,
                    bootstrap: str, prefix: str, report: Report) -> None:
    n, c, s = args.executions, args.clients, args.seconds

    async def get(path: str, **params: Any) -> None:
        async with http.get(base + path, params=params) as response:
            response.raise_for_status()
            await response.read()

    async def post(path: str, body: bytes, content_type: str) -> None:
        async with http.post(base + path, data=body, headers={"Content-Type": content_type}) as response:
            response.raise_for_status()
            await response.read()

    report.say(f"  {c} concurrent clients (aiohttp), {s:.0f} s each:")
    report.show("GET /executions/{id}", await load(c, s, lambda _: get(f"/executions/b-{random.randrange(n)}")))
    report.show("GET /executions?limit=50", await load(c, s, lambda _: get("/executions", limit=50)))
    report.show("GET /executions?workflow_id=..&limit=50",
                await load(c, s, lambda i: get("/executions", workflow_id=f"wf-{i % 20}", limit=50)))
    report.show("GET /executions?status=completed&limit=50",
                await load(c, s, lambda _: get("/executions", status="completed", limit=50)))
    report.show("reference: get_execution in-process (1 caller)", await in_process(min(n, 5000), s / 2), "reads/s")
    report.show("reference: GET /executions/{id} via httpx", await _httpx_reads(base, n, c, s))
    report.show("POST /triggers", await load(c, s, lambda i: post(
        "/triggers", orjson.dumps(trigger(i)), "application/cloudevents+json")))
    batch = await load(c, s, lambda i: post(
        "/triggers/batch", orjson.dumps([trigger(i * 100 + k) for k in range(100)]), "application/json"))
    report.show("POST /triggers/batch (100 events each)", batch)
    report.say(f"  {'':<46} = {batch['rps'] * 100:>9,.0f} events/s")
    report.show("reference: Kafka send_and_wait, no HTTP", await direct_kafka(bootstrap, prefix, c, s), "events/s")


async def _httpx_reads(base: str, n: int, clients: int, seconds: float) -> dict[str, float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        async def get_one(_: int) -> None:
            (await client.get(f"/executions/b-{random.randrange(n)}")).raise_for_status()

        return await load(clients, seconds, get_one)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--executions", type=int, default=20_000)
    parser.add_argument("--e2e-executions", type=int, default=2000,
                        help="burst of bench.e2e executions while the lag is sampled (0: skip)")
    parser.add_argument("--e2e-rate", type=float, default=200.0, help="paced starts per second")
    parser.add_argument("--e2e-seconds", type=float, default=10.0, help="paced run length")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    main(parser.parse_args())
