"""The engine of one worker process: the definitions feed and one partition loop each for the
execution processor, the built-in task worker, the trigger agent and its completions reader,
sharing one producer, one codec, one clock and one table of topic limits.

Plain asyncio on aiokafka, hosted by the Faust app (`streams.app`): the loop needs exact control
of when offsets are committed relative to produced events and stored state, and batch
consumption (Faust's per-event agent path measured ~15x slower than `getmany` here).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import httpx
from aiokafka import AIOKafkaProducer

from schemas.codec import Codec
from schemas.definition_events import DefinitionPublished
from schemas.definitions import WorkflowDefinition
from schemas.triggers import TriggerEvent
from streams.executions.processor import ExecutionProcessor
from streams.executions.store import StateStore
from streams.runtime import (
    Clock,
    CrashOn,
    DeadLetters,
    DeadLetterSink,
    DefinitionsFeed,
    GroupLag,
    Handler,
    LoopConfig,
    PartitionLoop,
    Quarantine,
    TopicTable,
    utc_now,
    worker_identity,
)
from streams.triggers.agent import TriggerAgent
from streams.triggers.effects import webhook_workflow
from streams.triggers.limits import Backpressure, Completions
from streams.triggers.rule_state import RuleStateStore
from streams.triggers.rulebook import Rulebook
from streams.workers import ActionContext, TaskError, TaskWorker, UrlGuard
from streams.workers.alert_sender import AlertSender, Channel
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
        alert_channels: Where alerts go, by name; none: this process sends no alert.
        alert_backoff_s: The first delay between two delivery attempts of an alert.
        task_workers: Run the built-in task worker in this process.
        triggers: Run the trigger agent (rules, workflow event triggers, schedules).
        task_concurrency: I/O tasks (HTTP, delay, publish) running at once in the task worker.
        task_concurrency_per_host: HTTP tasks running at once against one host.
        clock: The trigger side's wall clock: schedules, absence and batch-window timers (tests
            move it to fire schedules without waiting).
        execution_clock: The execution side's wall clock: workflow timers (delays, retries,
            timeouts) and task deadlines. Apart from `clock` so that a test moving the
            schedules' time does not time out the executions it is running.
        max_pending_tasks: Trigger intake pauses while more tasks than this wait.
        loop: The Kafka client settings of every partition loop and of the producer.
        static_membership: Join the consumer groups as a static member named after the data
            folder (`streams.runtime.membership`), unless `loop` names one already: a worker
            killed and restarted in place gets its own partitions back inside its session,
            without a rebalance; a clean stop still leaves at once (`streams.runtime.leave`).
            The worker process turns it on (`HEADWATER_STATIC_MEMBERSHIP`, default true);
            off here so that engines a test runs in one process stay plain members.
        crash_deaths: Consecutive deaths of the process with the same record in a loop's
            handler after which the record is set aside as a dead letter ``crashed_worker``
            (the loops' notes live in ``data_dir/crash-notes``); 0: no quarantine.
        crash_on: Injected crashes (tests and chaos drills; `streams.runtime.faults`).
    """

    app_id: str
    bootstrap: str
    topics: dict[str, str]
    data_dir: Path
    topic_prefix: str = "hw."
    http_allow: tuple[str, ...] = ()
    secrets: SecretStore = field(default_factory=SecretStore)
    alert_channels: Mapping[str, Channel] = field(default_factory=dict)
    alert_backoff_s: float = 0.5
    task_workers: bool = True
    task_concurrency: int = 200
    task_concurrency_per_host: int = 50
    triggers: bool = True
    clock: Clock = utc_now
    execution_clock: Clock = utc_now
    max_pending_tasks: int = 50_000
    loop: LoopConfig = field(default_factory=LoopConfig)
    static_membership: bool = False
    crash_deaths: int = 2
    crash_on: tuple[CrashOn, ...] = ()


@dataclass
class Engine:
    """Starts, runs and stops the engine's parts; `start` returns once they run."""

    config: EngineConfig
    trigger_agent: TriggerAgent | None = field(default=None, init=False)
    loops: dict[str, PartitionLoop] = field(default_factory=dict, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _closers: list[object] = field(default_factory=list)

    async def start(self) -> None:
        """Connect everything and start processing (definitions are read first)."""
        _quiet_kafka_debug()
        self.config = cfg = replace(self.config, loop=self._membership())
        codec = Codec(prefix=cfg.topic_prefix)
        producer = AIOKafkaProducer(**cfg.loop.producer(cfg.bootstrap))
        await producer.start()
        self._closers.append(producer.stop)
        table = await TopicTable.read(cfg.bootstrap, cfg.topics.values(), cfg.loop.max_request_size,
                                      cfg.loop.client_options)
        letters = DeadLetters(cfg.topics["dead-letters"], codec,
                              table.limit(cfg.topics["dead-letters"]))
        feed = DefinitionsFeed(cfg.bootstrap, cfg.topics["definitions"], codec,
                               DeadLetterSink(producer, letters), cfg.loop.client_options)
        await self._run(feed)
        await feed.sync()
        _builtin_workflows(feed)
        store = StateStore(cfg.data_dir / "executions")
        self._closers.append(store.close)
        parts = _Parts(cfg, producer, table, letters)
        processor = ExecutionProcessor(cfg.topics, codec, table, store, feed)
        await self._loop(parts.loop(processor, "processor", "commands", cfg.execution_clock))
        if cfg.task_workers:
            guard = UrlGuard(cfg.http_allow)
            client = guarded_client(guard, max_connections=cfg.task_concurrency)
            self._closers.append(client.aclose)
            templates = StepTemplates(lambda wid, version: _definition(feed, wid, version),
                                      feed.registry.rule)
            context = ActionContext(client, guard, _publisher(producer, codec, table, cfg.topics),
                                    secrets=cfg.secrets, templates=templates)
            worker = TaskWorker(cfg.topics, codec, context, cfg.execution_clock, cfg.task_concurrency,
                                cfg.task_concurrency_per_host)
            self._closers.append(worker.close)
            await self._loop(parts.loop(worker, "tasks", "tasks", cfg.execution_clock))
        if cfg.triggers:
            await self._start_triggers(parts, codec, feed, table)
        if cfg.alert_channels:
            alert_client = httpx.AsyncClient(timeout=30.0)
            self._closers.append(alert_client.aclose)
            sender = AlertSender(cfg.topics["alerts"], codec, cfg.alert_channels, alert_client,
                                 cfg.alert_backoff_s)
            await self._loop(parts.loop(sender, "alerts", "alerts", cfg.execution_clock))

    def _membership(self) -> LoopConfig:
        # A worker restarted on its data folder rejoins as the same static member: it gets its
        # partitions (and the state it holds for them) back at once, without a rebalance.
        cfg = self.config
        if cfg.static_membership and cfg.loop.group_instance_id is None:
            return replace(cfg.loop, group_instance_id=worker_identity(cfg.data_dir))
        return cfg.loop

    async def _start_triggers(self, parts: _Parts, codec: Codec, feed: DefinitionsFeed,
                              table: TopicTable) -> None:
        cfg = self.config
        rule_store = RuleStateStore(cfg.data_dir / "rules")
        self._closers.append(rule_store.close)
        book = Rulebook()
        completions = Completions(cfg.topics, codec, book)
        lag = GroupLag(cfg.bootstrap, cfg.topics["tasks"], table.count(cfg.topics["tasks"]),
                       f"{cfg.app_id}.tasks", cfg.loop)
        await lag.start()
        self._closers.append(lag.stop)
        loop: PartitionLoop | None = None

        async def offset_at(partition: int, when: datetime) -> int:
            assert loop is not None
            return await loop.offset_at(partition, when)

        async def end_at(partition: int) -> int:
            assert loop is not None
            return await loop.end_offset(partition)

        backpressure = Backpressure(lag.pending, cfg.max_pending_tasks)
        self._closers.append(backpressure.close)  # before the lag's clients close
        agent = TriggerAgent(cfg.topics, codec, feed, rule_store, cfg.clock, offset_at,
                             book=book, end_at=end_at, backpressure=backpressure)
        self.trigger_agent = agent
        loop = parts.loop(agent, "triggers", "triggers", cfg.clock)
        await self._loop(loop)
        # Completions reports each end as a record on `hw.triggers` (acknowledged before its
        # commit), so it commits on the loops' interval like every other part.
        await self._loop(parts.loop(completions, "completions", "executions", cfg.clock))

    async def _loop(self, loop: PartitionLoop) -> None:
        self.loops[loop.handler.name] = loop
        await self._run(loop)

    async def _run(self, part: _Part) -> None:
        await part.start()
        self._closers.append(part.stop)
        name = part.handler.name if isinstance(part, PartitionLoop) else type(part).__name__
        task = asyncio.create_task(part.run(), name=name)
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


@dataclass(frozen=True)
class _Parts:
    """Builds the engine's partition loops, all alike but for handler, group and topic."""

    config: EngineConfig
    producer: AIOKafkaProducer
    table: TopicTable
    letters: DeadLetters

    def loop(self, handler: Handler, group: str, role: str, clock: Clock,
             config: LoopConfig | None = None) -> PartitionLoop:
        cfg = self.config
        quarantine = Quarantine(cfg.data_dir / "crash-notes", cfg.crash_deaths) \
            if cfg.crash_deaths > 0 else None
        return PartitionLoop(handler, bootstrap=cfg.bootstrap, group=f"{cfg.app_id}.{group}",
                             topic=cfg.topics[role], producer=self.producer, table=self.table,
                             dead_letters=self.letters, clock=clock, config=config or cfg.loop,
                             quarantine=quarantine, faults=cfg.crash_on)


def _publisher(producer: AIOKafkaProducer, codec: Codec, table: TopicTable,
               topics: dict[str, str]) -> Callable[[TriggerEvent], Awaitable[None]]:
    """How a `publish` step produces its event: refused as the step's error when too large."""
    topic = topics["triggers"]

    async def publish(event: TriggerEvent) -> None:
        key, value = codec.encode_key(topic, event.subject), codec.encode_value(topic, event)
        size, limit = len(value) + len(key or b""), table.limit(topic)
        if size > limit:
            raise TaskError("output_too_large", f"the event is {size} bytes, over the limit of "
                            f"{limit} bytes of {topic}", retryable=False,
                            details={"size": size, "limit": limit})
        await producer.send_and_wait(topic, value, key=key)
    return publish


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
