"""/metrics and server-sent events, with the API projecting a real log."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from projections import create_api
from projections.auth import TokenTable
from schemas.codec import Codec
from tests.projections.apikit import client_of, make_api, served
from tests.projections.histories import Execution

pytestmark = pytest.mark.kafka


def _frames(text: str) -> list[dict[str, str]]:
    frames = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines()
                      if ": " in line and not line.startswith(":"))
        if fields:
            frames.append(fields)
    return frames


async def _produce(bootstrap: str, topics: dict[str, str], prefix: str, run: Execution) -> None:
    codec, topic = Codec(prefix=prefix), topics["executions"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for event in run.events:
            await producer.send_and_wait(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, run.execution_id))
    finally:
        await producer.stop()


async def test_metrics_are_prometheus_text_with_bounded_labels(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    run = Execution("secret-id-123").started().completed()
    api = make_api(kafka_bootstrap, hw_topics, run.events)
    async with client_of(api) as client:
        for _ in range(3):
            await client.get("/executions/secret-id-123")
        await client.get("/executions/nope-456")
        response = await client.get("/metrics")
    text = response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert ('headwater_http_requests_total{method="GET",route="/executions/{execution_id}",'
            'status="200"} 3.0') in text
    assert 'status="404"} 1.0' in text
    assert 'headwater_executions{status="completed"} 1.0' in text
    assert "headwater_http_request_duration_seconds_bucket" in text
    assert "secret-id-123" not in text and "nope-456" not in text
    names = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.M))
    assert all(name.startswith("headwater_") for name, _ in names)
    assert all(name.endswith("_total") for name, kind in names if kind == "counter")
    assert not any(name.endswith("_created") for name, _ in names)


async def test_execution_stream_replays_then_follows_to_the_end(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    run = Execution("live-9").started().step_ok("a")
    api = create_api(kafka_bootstrap, hw_topics, tokens=TokenTable())
    await _produce(kafka_bootstrap, hw_topics, topic_prefix, run)
    async with served(api) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        for _ in range(200):
            if (await client.get("/executions/live-9")).status_code == 200:
                break
            await asyncio.sleep(0.05)

        async def read_stream(headers: dict[str, str]) -> str:
            async with client.stream("GET", "/executions/live-9/events", headers=headers) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                return "".join([chunk async for chunk in r.aiter_text()])

        everything = asyncio.create_task(_first_events(client))
        follow = asyncio.create_task(read_stream({}))
        resumed = asyncio.create_task(read_stream({"Last-Event-ID": "3"}))
        await asyncio.sleep(0.5)
        ending = Execution("live-9").started().step_ok("a").completed()
        ending.events = ending.events[len(run.events):]
        await _produce(kafka_bootstrap, hw_topics, topic_prefix, ending)
        streamed = _frames(await asyncio.wait_for(follow, 30))
        after_three = _frames(await asyncio.wait_for(resumed, 30))
        live = await asyncio.wait_for(everything, 30)
    assert [f["id"] for f in streamed if "id" in f] == ["1", "2", "3", "4", "5"]
    assert streamed[-1]["event"] == "end" and '"completed"' in streamed[-1]["data"]
    assert [f["id"] for f in after_three if "id" in f] == ["4", "5"]
    assert [(f["id"], f["event"]) for f in live] == [("live-9:5", "execution_completed")]


async def _first_events(client: httpx.AsyncClient) -> list[dict[str, str]]:
    """What ``/events`` streams until the execution completes."""
    async with client.stream("GET", "/events") as response:
        text = ""
        async for chunk in response.aiter_text():
            text += chunk
            if "execution_completed" in text:
                return _frames(text)
    return []
