"""Helpers for engine tests on a real broker: an in-process engine, producing definitions and
commands, and reading a topic until a condition holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from schemas.codec import Codec
from schemas.definition_events import DefinitionPublished
from schemas.definitions import WorkflowDefinition
from schemas.executions import ExecutionEventBase
from streams.engine import Engine, EngineConfig
from streams.registry import partitions_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def prefix_of(topics: dict[str, str]) -> str:
    return topics["commands"][: -len("commands")]


@asynccontextmanager
async def running_engine(bootstrap: str, topics: dict[str, str], data_dir: Path,
                         app_id: str = "engine", **options: Any) -> AsyncIterator[Engine]:
    """An engine running in this event loop for the duration of the block."""
    engine = Engine(EngineConfig(app_id=f"{prefix_of(topics)}{app_id}", bootstrap=bootstrap,
                                 topics=topics, data_dir=data_dir,
                                 topic_prefix=prefix_of(topics), **options))
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


class Client:
    """Produces definitions and commands the way the API will."""

    def __init__(self, bootstrap: str, topics: dict[str, str]) -> None:
        self.topics = topics
        self.codec = Codec(prefix=prefix_of(topics))
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")

    async def __aenter__(self) -> Client:
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()

    async def send(self, role: str, key: str, value: BaseModel) -> None:
        topic = self.topics[role]
        await self.producer.send_and_wait(topic, self.codec.encode_value(topic, value),
                                          key=self.codec.encode_key(topic, key))

    async def send_raw(self, role: str, key: bytes | None, value: bytes | None) -> None:
        await self.producer.send_and_wait(self.topics[role], value, key=key)

    async def publish(self, definition: WorkflowDefinition) -> None:
        event = DefinitionPublished(kind="workflow", definition_id=definition.id,
                                    version=definition.version,
                                    definition=definition.model_dump(mode="json", by_alias=True),
                                    published_at=NOW)
        await self.send("definitions", event.key, event)


async def read_until(bootstrap: str, topic: str, codec: Codec,
                     done: Callable[[list[Any]], bool], timeout_s: float = 30) -> list[Any]:
    """Every decoded record of `topic` from the beginning, once `done(records)` holds.

    Raises:
        AssertionError: `done` did not hold within the timeout (shows what was read).
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    found: list[Any] = []
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        deadline = time.monotonic() + timeout_s
        while not done(found):
            assert time.monotonic() < deadline, f"timed out; read {len(found)}: {found[-5:]}"
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(codec.decode_value(r.topic, r.value, partition=r.partition,
                                                offset=r.offset) for r in records)
        return found
    finally:
        await consumer.stop()


def history(events: list[Any], execution_id: str) -> list[ExecutionEventBase]:
    """One execution's events in log order."""
    return [e for e in events if getattr(e, "execution_id", None) == execution_id]


def finished(execution_ids: set[str]) -> Callable[[list[Any]], bool]:
    """A `read_until` condition: every execution has a terminal event."""
    terminal = {"execution_completed", "execution_failed", "execution_cancelled",
                "execution_timed_out"}

    def check(events: list[Any]) -> bool:
        ended = {e.execution_id for e in events if getattr(e, "type", "") in terminal}
        return execution_ids <= ended
    return check


async def eventually(check: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition did not hold in time"
        await asyncio.sleep(0.05)
