"""Rebuilding views on demand, on the broker: a damaged view is rebuilt from the log while the
API keeps serving, only the named view is replaced, and a whole rebuild equals the live views;
`headwater views rebuild` follows the progress."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from headwater.cli import app
from projections import create_api
from projections.store import MemoryStore
from schemas.codec import Codec
from schemas.dead_letters import DeadLetter
from tests.projections.apikit import served
from tests.projections.histories import T0, Execution

pytestmark = pytest.mark.kafka


async def _produce(bootstrap: str, topics: dict[str, str], prefix: str) -> None:
    codec = Codec(prefix=prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for n in range(30):
            for event in Execution(f"r-{n}").started().step_ok("a").completed().events:
                topic = topics["executions"]
                await producer.send(topic, codec.encode_value(topic, event),
                                    key=codec.encode_key(topic, f"r-{n}"))
        letter = DeadLetter(topic="hw.triggers", partition=0, offset=4, reason="bad",
                            failed_at=T0)
        topic = topics["dead-letters"]
        await producer.send_and_wait(topic, codec.encode_value(topic, letter), key=b"k")
    finally:
        await producer.stop()


PER_RUN = len(Execution("r").started().step_ok("a").completed().events)


def _views(store: MemoryStore) -> dict[str, bytes]:
    return dict(store.scan(""))


async def _done(client: httpx.AsyncClient) -> dict[str, Any]:
    for _ in range(300):
        status = (await client.get("/admin/views/rebuild")).json()
        if status["state"] != "running":
            return status  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError("the rebuild did not end")


async def test_a_damaged_view_is_rebuilt_from_the_log(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    await _produce(kafka_bootstrap, hw_topics, topic_prefix)
    store = MemoryStore()
    api = create_api(kafka_bootstrap, hw_topics, store=store)
    async with served(api) as url, httpx.AsyncClient(base_url=url) as client:
        for _ in range(300):
            lag = await client.get("/views/lag")
            if lag.status_code == 200 and lag.json()["total"] == 0 and store.get("dl/hw.triggers:0:4"):
                break
            await asyncio.sleep(0.1)
        live = _views(store)
        store.write({"x/r-3": None, "xd/r-3": None, "dl/hw.triggers:0:4": None, "ws/wf": b"{}"})
        assert (await client.get("/executions/r-3")).status_code == 404

        started = await client.post("/admin/views/rebuild", json={"view": "executions"})
        assert started.status_code == 202 and started.json()["views"] == ["executions"]
        status = await _done(client)
        assert status["state"] == "done" and status["applied"] == status["total"] == 30 * PER_RUN + 1
        assert (await client.get("/executions/r-3")).json()["summary"]["status"] == "completed"
        assert store.get("dl/hw.triggers:0:4") is None  # another view: untouched
        assert (await client.post("/admin/views/rebuild", json={"view": "nope"})).status_code == 422

        monkeypatch.setenv("HEADWATER_API_URL", url)
        cli = await asyncio.to_thread(CliRunner().invoke, app, ["views", "rebuild"])
        assert cli.exit_code == 0 and "done" in cli.output, cli.output
        assert _views(store) == live  # a whole rebuild equals the live views, key for key
        assert (await client.get("/dead-letters")).json()["items"][0]["reason"] == "bad"
        # the live projector resumed: a new record still shows up
        await _produce(kafka_bootstrap, hw_topics, topic_prefix)
        for _ in range(300):
            if (await client.get("/views/lag")).json()["total"] == 0:
                break
            await asyncio.sleep(0.1)
        assert (await client.get("/views/lag")).json()["total"] == 0
