"""HTTP API under load: execution queries and trigger ingestion with 100 concurrent clients,
and how far the views fall behind the log while it is written to.

The API runs in its own process (uvicorn, one worker, views in memory, projecting the log);
this process is the clients. Figures:

* ``GET /executions/{id}`` (random ids) and ``GET /executions?limit=50``: requests/s, p50, p99;
* ``POST /triggers`` (one structured CloudEvent) and ``POST /triggers/batch`` (100 events);
* references measured in the same run: the same reads called in-process on the same views
  (no HTTP), and 100 concurrent ``send_and_wait`` of the same events straight to Kafka;
* projection lag: execution events produced as fast as one producer can for a few seconds,
  ``/views/lag`` sampled every 100 ms: max and p50 lag, and time to catch up afterwards.

Run: ``.venv/bin/python bench/api.py [--seconds 5] [--clients 100] [--executions 20000]``
(uses ``HEADWATER_KAFKA_BOOTSTRAP`` or starts a throwaway local broker).
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

import httpx
import orjson
from aiokafka import AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._broker import broker, machine
from infra.topics import create_topics
from schemas.codec import Codec
from schemas.executions import ExecutionCompleted, ExecutionStarted, StepCompleted
from schemas.triggers import TriggerEvent

T0 = datetime(2026, 1, 1, tzinfo=UTC)


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


def show(name: str, figures: dict[str, float], unit: str = "req/s") -> None:
    print(f"  {name:<44} {figures['rps']:>9,.0f} {unit}  p50 {figures['p50_ms']:7.2f} ms  "
          f"p99 {figures['p99_ms']:7.2f} ms  (n={figures['n']:,.0f}, errors={figures['errors']:.0f})")


def serve(bootstrap: str, prefix: str, port: int) -> subprocess.Popen[bytes]:
    code = ("import uvicorn; from projections import create_api; from infra.topics import topic_names; "
            f"uvicorn.run(create_api({bootstrap!r}, topic_names({prefix!r})), host='127.0.0.1', "
            f"port={port}, log_level='warning')")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_API_TOKENS")}
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[1])


async def wait_caught_up(http: httpx.AsyncClient, timeout_s: float = 120) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        response = await http.get("/views/lag")
        if response.status_code == 200 and response.json()["total"] == 0:
            return time.perf_counter() - began
        await asyncio.sleep(0.1)
    raise TimeoutError("the views did not catch up")


async def lag_under_load(http: httpx.AsyncClient, bootstrap: str, prefix: str, start: int,
                         count: int) -> None:
    samples: list[int] = []
    writing = asyncio.create_task(produce_executions(bootstrap, prefix, start, count))
    while not writing.done():
        response = await http.get("/views/lag")
        if response.status_code == 200:
            samples.append(response.json()["total"])
        await asyncio.sleep(0.1)
    wrote = await writing
    catch_up = await wait_caught_up(http)
    rate = 3 * count / wrote
    print(f"  projection lag while {rate:,.0f} events/s are written for {wrote:.1f} s: "
          f"max {max(samples, default=0):,} records, p50 {statistics.median(samples or [0]):,.0f}; "
          f"caught up {catch_up:.2f} s after the last write")


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
    print(f"bench/api.py on {machine()}")
    from tests.support import free_ports

    # Its own port: other benchmarks start throwaway brokers on the default one.
    with broker(port=free_ports(2)) as bootstrap:  # starts its own loop: outside ours
        prefix = f"bench{uuid.uuid4().hex[:6]}."
        create_topics(bootstrap, prefix, partitions=6)
        asyncio.run(measure(args, bootstrap, prefix))


async def measure(args: argparse.Namespace, bootstrap: str, prefix: str) -> None:
    took = await produce_executions(bootstrap, prefix, 0, args.executions)
    print(f"  wrote {args.executions:,} executions ({3 * args.executions:,} events) in {took:.1f} s")
    port = 28000 + random.randrange(1000)
    api = serve(bootstrap, prefix, port)
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                     timeout=120) as http:
            await _ready(http)
            print(f"  views built from the log in {await wait_caught_up(http):.1f} s")
            await run_loads(http, args, bootstrap, prefix)
            await lag_under_load(http, bootstrap, prefix, args.executions, args.executions // 2)
    finally:
        api.terminate()
        api.wait(20)


async def _ready(http: httpx.AsyncClient) -> None:
    for _ in range(300):
        try:
            if (await http.get("/openapi.json")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("the API did not start")


async def run_loads(http: httpx.AsyncClient, args: argparse.Namespace, bootstrap: str, prefix: str) -> None:
    n, c, s = args.executions, args.clients, args.seconds

    async def get_one(_: int) -> None:
        (await http.get(f"/executions/b-{random.randrange(n)}")).raise_for_status()

    async def list_page(_: int) -> None:
        (await http.get("/executions", params={"limit": 50})).raise_for_status()

    async def ingest(i: int) -> None:
        (await http.post("/triggers", content=orjson.dumps(trigger(i)),
                         headers={"Content-Type": "application/cloudevents+json"})).raise_for_status()

    async def ingest_batch(i: int) -> None:
        body = orjson.dumps([trigger(i * 100 + k) for k in range(100)])
        (await http.post("/triggers/batch", content=body)).raise_for_status()

    print(f"  {c} concurrent clients, {s:.0f} s each:")
    show("GET /executions/{id}", await load(c, s, get_one))
    show("GET /executions?limit=50", await load(c, s, list_page))
    show("reference: get_execution in-process (1 caller)", await in_process(min(n, 5000), s / 2), "reads/s")
    show("POST /triggers", await load(c, s, ingest))
    batch = await load(c, s, ingest_batch)
    show("POST /triggers/batch (100 events each)", batch)
    print(f"  {'':<44} = {batch['rps'] * 100:>9,.0f} events/s")
    show("reference: Kafka send_and_wait, no HTTP", await direct_kafka(bootstrap, prefix, c, s), "events/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--executions", type=int, default=20_000)
    main(parser.parse_args())
