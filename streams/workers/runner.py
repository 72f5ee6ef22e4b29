"""The built-in task worker: runs `hw.tasks` records of the built-in types, answers on
`hw.commands`.

A batch's tasks run concurrently (they belong to different executions or to parallel steps),
their answers are produced, and only then are the task offsets committed. A crash before the
commit reruns those tasks: answers carry ids derived from the task id, so the execution applies
one answer per task, and HTTP requests carry the task's idempotency key for the far side.

Answers go out as one record batch per `hw.commands` partition (`streams.runtime.outbox`), their
partition computed here as the default partitioner would (the processor requires it), instead
of one `send()` each: a send costs more than running a `transform`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.partitioner import murmur2

from schemas.codec import Codec, DecodeError, EncodeError
from schemas.commands import CommandBase, ErrorInfo, TaskCompleted, TaskFailed
from schemas.tasks import TaskRequested
from streams.runtime.dead_letters import DeadLetterSink
from streams.runtime.outbox import Outbox
from streams.workers.actions import ACTIONS, MAX_DELAY_S, ActionContext, TaskError, run_action

__all__ = ["TaskWorker", "answer"]

log = logging.getLogger(__name__)
_INLINE = frozenset({"transform", "log"})
"""Built-in actions that return without waiting on anything."""


def answer(task: TaskRequested, outcome: Any, now: datetime) -> CommandBase:
    """The command answering `task`: completed with an output, or failed with a `TaskError`."""
    if isinstance(outcome, TaskError):
        error = ErrorInfo(code=outcome.code, message=outcome.message,
                          retryable=outcome.retryable, details=outcome.details)
        return TaskFailed(command_id=f"{task.task_id}:failed", execution_id=task.execution_id,
                          time=now, task_id=task.task_id, error=error)
    return TaskCompleted(command_id=f"{task.task_id}:completed", execution_id=task.execution_id,
                         time=now, task_id=task.task_id, output=outcome)


class TaskWorker:
    """Consumes `hw.tasks` in a consumer group and runs the built-in actions.

    Args:
        bootstrap: Kafka bootstrap servers.
        group: The consumer group id (external workers use their own).
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        producer: A started producer.
        context: What the actions share (HTTP client, URL guard, publisher).
        dead_letters: Where undecodable tasks go.
        concurrency: Tasks run at once per batch.
    """

    def __init__(self, bootstrap: str, group: str, topics: dict[str, str], codec: Codec,
                 producer: AIOKafkaProducer, context: ActionContext,
                 dead_letters: DeadLetterSink, concurrency: int = 200) -> None:
        self._topics, self._codec, self._producer = topics, codec, producer
        self._context, self._dead = context, dead_letters
        self._slots = asyncio.Semaphore(concurrency)
        self._partitions = 1
        self._consumer = AIOKafkaConsumer(
            topics["tasks"], bootstrap_servers=bootstrap, group_id=group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            # A batch may hold a maximal delay task plus HTTP calls: the group must not evict
            # the worker mid-batch (its tasks would run again elsewhere).
            max_poll_interval_ms=int((MAX_DELAY_S + 300) * 1000))

    async def start(self) -> None:
        """Join the group."""
        self._partitions = len(await self._producer.partitions_for(self._topics["commands"]))
        await self._consumer.start()

    async def stop(self) -> None:
        """Leave the group."""
        await self._consumer.stop()

    async def run(self) -> None:
        """Run batches of tasks until cancelled.

        While one batch's answers wait for their acks and its offsets are committed, the next
        batch already runs; commits stay in batch order, each after its own answers' acks.
        """
        finishing: asyncio.Task[None] | None = None
        try:
            while True:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=500)
                if not batches:
                    continue
                outbox = await self._answers(batches)
                if finishing is not None:
                    await finishing  # its failure (an unacknowledged answer) stops this part
                offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
                finishing = asyncio.create_task(self._finish(outbox, offsets))
        finally:
            if finishing is not None and not finishing.done():
                finishing.cancel()  # not committed: those tasks run again, answered alike

    async def _answers(self, batches: dict[TopicPartition, list[Any]]) -> Outbox:
        """Run a poll's tasks; their answers, appended to an outbox not yet flushed."""
        tasks: list[TaskRequested] = []
        for records in batches.values():
            for record in records:
                task = await self._decode(record)
                if task is not None and task.task_type in ACTIONS:
                    tasks.append(task)
        # Actions that never wait run one after the other: a task each would cost more.
        answers = [await self._run(task) for task in tasks if task.task_type in _INLINE]
        answers += await asyncio.gather(*(self._run(task) for task in tasks
                                          if task.task_type not in _INLINE))
        outbox = Outbox(self._producer)
        topic = self._topics["commands"]
        for answered in answers:
            if answered is not None:
                key, partition, value = answered
                await outbox.append(topic, partition, key, value)
        return outbox

    async def _finish(self, outbox: Outbox, offsets: dict[TopicPartition, int]) -> None:
        await outbox.flush()
        await self._commit(offsets)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # A rebalance took some of these partitions: their new owner reruns the tasks, and
            # the answers' ids (derived from the task id) make the executions apply them once.
            log.info("commit of tasks skipped: %s", exc)

    async def _decode(self, record: Any) -> TaskRequested | None:
        try:
            task = self._codec.decode_value(record.topic, record.value,
                                            partition=record.partition, offset=record.offset)
        except DecodeError as exc:
            await self._dead.refuse(record, exc.reason, exc.detail, "task-worker")
            return None
        assert isinstance(task, TaskRequested)
        return task

    async def _run(self, task: TaskRequested) -> tuple[bytes | None, int, bytes] | None:
        """Run a task; its answer's key, partition and value (None: no answer is due)."""
        if task.deadline is not None and task.deadline <= datetime.now(UTC):
            log.info("task %s is past its deadline; the engine has timed it out", task.task_id)
            return None
        try:
            if task.task_type in _INLINE:
                outcome: Any = await run_action(task, self._context)
            else:
                async with self._slots:
                    outcome = await run_action(task, self._context)
        except TaskError as exc:
            outcome = exc
        topic = self._topics["commands"]
        try:
            value = self._codec.encode_value(topic, answer(task, outcome, datetime.now(UTC)))
        except EncodeError as exc:
            failure = TaskError("unencodable_output", str(exc)[:1000], retryable=False)
            value = self._codec.encode_value(topic, answer(task, failure, datetime.now(UTC)))
        key = self._codec.encode_key(topic, task.execution_id)
        # The default partitioner's choice, which the processor checks the record against.
        partition = ((murmur2(key) & 0x7FFFFFFF) if key else 0) % self._partitions
        return key, partition, value
