"""The API process projects the log itself: a record produced shows up in its views."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from projections import create_api
from schemas.codec import Codec
from tests.projections.histories import Execution

pytestmark = pytest.mark.kafka


async def test_views_follow_the_log_and_report_lag(kafka_bootstrap: str, hw_topics: dict[str, str],
                                                   topic_prefix: str) -> None:
    api = create_api(kafka_bootstrap, hw_topics)
    codec, topic = Codec(prefix=topic_prefix), hw_topics["executions"]
    run = Execution("live-1").started().step_ok("a").completed()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for event in run.events:
            await producer.send_and_wait(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, "live-1"))
    finally:
        await producer.stop()
    transport = httpx.ASGITransport(app=api)
    async with api.router.lifespan_context(api), httpx.AsyncClient(
            transport=transport, base_url="http://api") as client:
        body: dict[str, object] = {}
        for _ in range(200):
            response = await client.get("/executions/live-1")
            if response.status_code == 200:
                body = response.json()
                if body["summary"]["status"] == "completed":  # type: ignore[index]
                    break
            await asyncio.sleep(0.1)
        assert body and body["summary"]["status"] == "completed"  # type: ignore[index]
        lag = (await client.get("/views/lag")).json()
        assert lag["total"] == 0 and len(lag["partitions"]) == 6 + 6 + 1 + 6
