"""Helpers for engine tests on a real broker: an in-process engine, producing definitions and
commands, and reading a topic until a condition holds."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from schemas.codec import Codec
from schemas.commands import TaskCompleted
from schemas.definition_events import DefinitionPublished
from schemas.definitions import WorkflowDefinition
from schemas.executions import ExecutionEventBase
from schemas.tasks import TaskRequested
from streams.engine import Engine, EngineConfig
from streams.runtime.registry import partitions_of

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

    def __init__(self, bootstrap: str, topics: dict[str, str],
                 options: Mapping[str, Any] | None = None) -> None:
        self.topics = topics
        self.codec = Codec(prefix=prefix_of(topics))
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **(options or {}))

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


class Tail:
    """Every decoded record of one topic from its beginning, kept current in the background.

    One consumer per topic for a whole scenario, instead of re-reading the topic for each
    question (`read_until`), which grows quadratic when a test asks many.
    """

    def __init__(self, bootstrap: str, topic: str, codec: Codec,
                 options: Mapping[str, Any] | None = None) -> None:
        self.bootstrap, self.topic, self.codec = bootstrap, topic, codec
        self.options = dict(options or {})
        self.records: list[Any] = []
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **self.options)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Tail:
        await self._consumer.start()
        parts = [TopicPartition(self.topic, p)
                 for p in await partitions_of(self.bootstrap, self.topic, self.options)]
        self._consumer.assign(parts)
        await self._consumer.seek_to_beginning(*parts)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            for records in batches.values():
                self.records.extend(self.codec.decode_value(r.topic, r.value, partition=r.partition,
                                                            offset=r.offset) for r in records)

    async def wait(self, done: Callable[[list[Any]], bool], timeout_s: float = 30,
                   what: str = "condition") -> list[Any]:
        """The records read so far, once `done(records)` holds.

        Raises:
            AssertionError: `done` did not hold within the timeout (names `what`).
        """
        deadline = time.monotonic() + timeout_s
        while not done(self.records):
            assert time.monotonic() < deadline, (
                f"{self.topic}: {what} did not hold in {timeout_s} s; last: {self.records[-3:]}")
            await asyncio.sleep(0.05)
        return self.records


class MovableClock:
    """A wall clock that tests move forward (the trigger agent's clock: schedules, absence and
    batch-window timers); it keeps ticking in real time between moves."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, at: datetime) -> None:
        """Make it read `at` now (never backwards)."""
        self.offset = max(self.offset, at - datetime.now(UTC))


Answer = Callable[[TaskRequested], Any]


class StandInWorker:
    """An external task worker for task types that stand for outside systems in tests
    (`payments.charge`, `email.send`, ...): it follows docs/external-workers.md and answers each
    task of a type in `answers` with `TaskCompleted(output=answers[type](task))`.

    Attributes:
        tasks: Every task it answered, in order.
    """

    def __init__(self, bootstrap: str, topics: dict[str, str], answers: dict[str, Answer],
                 options: Mapping[str, Any] | None = None) -> None:
        self.topics, self.answers = topics, answers
        self.codec = Codec(prefix=prefix_of(topics))
        self.tasks: list[TaskRequested] = []
        self._consumer = AIOKafkaConsumer(topics["tasks"], bootstrap_servers=bootstrap,
                                          group_id=f"{prefix_of(topics)}stand-in",
                                          enable_auto_commit=False, auto_offset_reset="earliest",
                                          **(options or {}))
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", **(options or {}))
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StandInWorker:
        await self._consumer.start()
        await self._producer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
        await self._producer.stop()

    async def _run(self) -> None:
        commands = self.topics["commands"]
        async for record in self._consumer:
            task = self.codec.decode_value(record.topic, record.value)
            answer = self.answers.get(getattr(task, "task_type", ""))
            if isinstance(task, TaskRequested) and answer is not None:
                self.tasks.append(task)
                done = TaskCompleted(command_id=f"{task.task_id}:completed",
                                     execution_id=task.execution_id, time=datetime.now(UTC),
                                     task_id=task.task_id, output=answer(task))
                await self._producer.send_and_wait(
                    commands, self.codec.encode_value(commands, done),
                    key=self.codec.encode_key(commands, task.execution_id))
            await self._consumer.commit()
