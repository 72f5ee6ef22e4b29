"""The engine of one worker process: the definitions feed, the execution processor and the
built-in task worker, sharing one producer and one codec.

Plain asyncio on aiokafka, hosted by the Faust app (`streams.app`): the processor needs exact
control of when offsets are committed relative to produced events and stored state, and batch
consumption (Faust's per-event agent path measured ~15x slower than `getmany` here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from schemas.codec import Codec
from schemas.triggers import TriggerEvent
from streams.dead_letters import DeadLetterSink
from streams.processor import ExecutionProcessor
from streams.registry import DefinitionsFeed
from streams.store import StateStore
from streams.workers import ActionContext, TaskWorker, UrlGuard

__all__ = ["Engine", "EngineConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    """What the engine needs: broker, group, topics, state directory and HTTP allow-list.

    Attributes:
        app_id: Consumer groups are ``<app_id>.processor`` and ``<app_id>.tasks``.
        bootstrap: Kafka bootstrap servers.
        topics: Topic role -> name (``infra.topics.topic_names``).
        data_dir: Where the state store lives.
        topic_prefix: The prefix of the topic names (the codec maps names to roles with it).
        http_allow: Addresses or networks HTTP steps may reach despite the SSRF guard.
        task_workers: Run the built-in task worker in this process.
    """

    app_id: str
    bootstrap: str
    topics: dict[str, str]
    data_dir: Path
    topic_prefix: str = "hw."
    http_allow: tuple[str, ...] = ()
    task_workers: bool = True
    task_concurrency: int = 200


@dataclass
class Engine:
    """Starts, runs and stops the engine's parts; `start` returns once they run."""

    config: EngineConfig
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[object] = field(default_factory=list)

    async def start(self) -> None:
        """Connect everything and start processing (definitions are read first)."""
        cfg = self.config
        codec = Codec(prefix=cfg.topic_prefix)
        producer = AIOKafkaProducer(bootstrap_servers=cfg.bootstrap, acks="all",
                                    enable_idempotence=True, linger_ms=2,
                                    max_batch_size=512 * 1024)
        await producer.start()
        self._closers.append(producer.stop)
        dead = DeadLetterSink(producer, cfg.topics["dead-letters"], codec)
        feed = DefinitionsFeed(cfg.bootstrap, cfg.topics["definitions"], codec, dead)
        await self._run(feed)
        await feed.sync()
        store = StateStore(cfg.data_dir / "executions")
        self._closers.append(store.close)
        await self._run(ExecutionProcessor(cfg.bootstrap, f"{cfg.app_id}.processor", cfg.topics,
                                           codec, producer, store, feed, dead))
        if cfg.task_workers:
            client = httpx.AsyncClient(follow_redirects=False)
            self._closers.append(client.aclose)
            context = ActionContext(client, UrlGuard(cfg.http_allow),
                                    self._publisher(producer, codec))
            await self._run(TaskWorker(cfg.bootstrap, f"{cfg.app_id}.tasks", cfg.topics, codec,
                                       producer, context, dead, cfg.task_concurrency))

    def _publisher(self, producer: AIOKafkaProducer, codec: Codec):  # type: ignore[no-untyped-def]
        topic = self.config.topics["triggers"]

        async def publish(event: TriggerEvent) -> None:
            await producer.send_and_wait(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, event.subject))
        return publish

    async def _run(self, part: DefinitionsFeed | ExecutionProcessor | TaskWorker) -> None:
        await part.start()
        self._closers.append(part.stop)
        task = asyncio.create_task(part.run(), name=type(part).__name__)
        task.add_done_callback(_report)
        self._tasks.append(task)

    async def stop(self) -> None:
        """Stop processing and disconnect, newest part first."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for close in reversed(self._closers):
            try:
                result = close()  # type: ignore[operator]
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("while stopping the engine")
        self._tasks.clear()
        self._closers.clear()


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("engine part %s stopped", task.get_name(), exc_info=task.exception())
