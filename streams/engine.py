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
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from aiokafka import AIOKafkaProducer

from schemas.codec import Codec
from schemas.definition_events import DefinitionPublished
from schemas.definitions import WorkflowDefinition
from schemas.triggers import TriggerEvent
from streams.executions.processor import ExecutionProcessor
from streams.executions.store import StateStore
from streams.runtime.dead_letters import DeadLetterSink
from streams.runtime.registry import DefinitionsFeed
from streams.triggers.agent import Clock, TriggerAgent, utc_now
from streams.triggers.effects import webhook_workflow
from streams.triggers.limits import Backpressure, Completions
from streams.triggers.rule_state import RuleStateStore
from streams.triggers.schedules import Scheduler
from streams.workers import ActionContext, TaskWorker, UrlGuard
from streams.workers.pinning import guarded_client
from streams.workers.secrets import SecretStore, StepTemplates

__all__ = ["Engine", "EngineConfig"]

log = logging.getLogger(__name__)
EXIT_PART_FAILED = 70  # EX_SOFTWARE


class _Part(Protocol):
    async def start(self) -> None: ...
    async def run(self) -> None: ...
    async def stop(self) -> None: ...


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
        secrets: The secrets HTTP steps may reference (``{{ secrets.NAME }}``).
        task_workers: Run the built-in task worker in this process.
        triggers: Run the trigger agent (rules, workflow event triggers, schedules).
        clock: The trigger agent's wall clock, for timers and schedules (tests pin it).
        max_pending_tasks: Trigger intake pauses while more tasks than this wait.
    """

    app_id: str
    bootstrap: str
    topics: dict[str, str]
    data_dir: Path
    topic_prefix: str = "hw."
    http_allow: tuple[str, ...] = ()
    secrets: SecretStore = field(default_factory=SecretStore)
    task_workers: bool = True
    task_concurrency: int = 200
    triggers: bool = True
    clock: Clock = utc_now
    max_pending_tasks: int = 50_000


@dataclass
class Engine:
    """Starts, runs and stops the engine's parts; `start` returns once they run."""

    config: EngineConfig
    trigger_agent: TriggerAgent | None = field(default=None, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[object] = field(default_factory=list)

    async def start(self) -> None:
        """Connect everything and start processing (definitions are read first)."""
        cfg = self.config
        _quiet_kafka_debug()
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
        _builtin_workflows(feed)
        store = StateStore(cfg.data_dir / "executions")
        self._closers.append(store.close)
        await self._run(ExecutionProcessor(cfg.bootstrap, f"{cfg.app_id}.processor", cfg.topics,
                                           codec, producer, store, feed, dead))
        if cfg.task_workers:
            guard = UrlGuard(cfg.http_allow)
            client = guarded_client(guard, max_connections=cfg.task_concurrency)
            self._closers.append(client.aclose)
            templates = StepTemplates(lambda wid, version: _definition(feed, wid, version))
            context = ActionContext(client, guard, self._publisher(producer, codec),
                                    secrets=cfg.secrets, templates=templates)
            await self._run(TaskWorker(cfg.bootstrap, f"{cfg.app_id}.tasks", cfg.topics, codec,
                                       producer, context, dead, cfg.task_concurrency))
        if cfg.triggers:
            await self._start_triggers(producer, codec, feed, dead)

    async def _start_triggers(self, producer: AIOKafkaProducer, codec: Codec,
                              feed: DefinitionsFeed, dead: DeadLetterSink) -> None:
        cfg = self.config
        rule_store = RuleStateStore(cfg.data_dir / "rules")
        self._closers.append(rule_store.close)
        agent = TriggerAgent(cfg.bootstrap, f"{cfg.app_id}.triggers", cfg.topics, codec,
                             producer, feed, dead, rule_store, cfg.clock)
        agent.on_tick(Scheduler(agent, rule_store).tick)
        self.trigger_agent = agent
        await self._run(agent)
        await self._run(Completions(cfg.bootstrap, f"{cfg.app_id}.completions",
                                    cfg.topics["executions"], codec, agent))
        await self._run(Backpressure(cfg.bootstrap, cfg.topics["tasks"], f"{cfg.app_id}.tasks",
                                     agent, cfg.max_pending_tasks))

    def _publisher(self, producer: AIOKafkaProducer, codec: Codec):  # type: ignore[no-untyped-def]
        topic = self.config.topics["triggers"]

        async def publish(event: TriggerEvent) -> None:
            await producer.send_and_wait(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, event.subject))
        return publish

    async def _run(self, part: _Part) -> None:
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


def _builtin_workflows(feed: DefinitionsFeed) -> None:
    # Known to every worker without being published: the workflow `call_webhook` starts.
    workflow = webhook_workflow()
    feed.registry.apply(DefinitionPublished(
        kind="workflow", definition_id=workflow.id, version=workflow.version,
        definition=workflow.model_dump(mode="json", by_alias=True),
        published_at=datetime(2026, 1, 1, tzinfo=UTC)))


def _quiet_kafka_debug() -> None:
    # Faust's startup spinner sets the root logger to DEBUG whatever the worker's level, and
    # aiokafka then builds a debug record for every record sent (14% of a worker's time).
    root, kafka = logging.getLogger(), logging.getLogger("aiokafka")
    shown = [h.level for h in root.handlers if type(h).__name__ != "SpinnerHandler"]
    if kafka.level == logging.NOTSET and root.level == logging.DEBUG and min(shown, default=0) > logging.DEBUG:
        kafka.setLevel(logging.INFO)


def _report(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("engine part %s stopped; exiting so a supervisor restarts the worker",
                     task.get_name(), exc_info=task.exception())
        # A dead part keeps its partitions assigned to a live consumer, so nothing else would
        # take them over. Exiting abruptly is safe: every part survives SIGKILL (crash tests).
        logging.shutdown()
        os._exit(EXIT_PART_FAILED)


def _definition(feed: DefinitionsFeed, workflow_id: str,
                version: str | None) -> WorkflowDefinition | None:
    entry = feed.registry.workflow(workflow_id, version)
    definition = entry.definition if entry is not None else None
    return definition if isinstance(definition, WorkflowDefinition) else None
