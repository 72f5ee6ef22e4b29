"""Limits around the trigger agent: backpressure, and freeing rule concurrency slots.

`Backpressure` watches how many tasks wait (end of `hw.tasks` minus the task workers' committed
offsets) and pauses trigger intake above a bound, resuming below half of it: triggers wait in
Kafka, durable and ordered, instead of piling up as executions and tasks.

`Completions` reads `hw.executions` in its own group and, when an execution that a rule with a
`concurrency_limit` started ends, frees the rule's slot (and starts the oldest queued firing).
Rules start executions under ids ``<rule id>:<digest>:<action>``, so the rule is read from the
key without decoding the value of other executions' events.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.codec import Codec, DecodeError
from schemas.executions import ExecutionEventBase
from streams.runtime.registry import partitions_of
from streams.triggers.agent import TriggerAgent

__all__ = ["Backpressure", "Completions"]

log = logging.getLogger(__name__)

_TERMINAL = frozenset({"execution_completed", "execution_failed", "execution_cancelled",
                       "execution_timed_out"})


class Backpressure:
    """Pauses the trigger agent while more than `max_pending` tasks wait.

    Args:
        bootstrap: Kafka bootstrap servers.
        tasks_topic: The tasks topic.
        tasks_group: The task workers' consumer group.
        agent: The trigger agent to pause and resume.
        max_pending: The bound (pending = produced and not yet committed by the workers).
        interval_s: How often to look.
    """

    def __init__(self, bootstrap: str, tasks_topic: str, tasks_group: str, agent: TriggerAgent,
                 max_pending: int = 50_000, interval_s: float = 1.0) -> None:
        self._bootstrap, self._topic, self._group = bootstrap, tasks_topic, tasks_group
        self._agent, self._max, self._interval = agent, max_pending, interval_s
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._ends = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        self.pending = 0

    async def start(self) -> None:
        """Connect."""
        await self._admin.start()
        await self._ends.start()

    async def stop(self) -> None:
        """Disconnect."""
        await self._ends.stop()
        await self._admin.close()

    async def run(self) -> None:
        """Look every `interval_s` until cancelled."""
        parts = [TopicPartition(self._topic, p) for p in await partitions_of(self._bootstrap,
                                                                               self._topic)]
        while True:
            self.pending = await self._pending(parts)
            if self.pending > self._max:
                self._agent.pause(True)
            elif self.pending <= self._max // 2:
                self._agent.pause(False)
            await asyncio.sleep(self._interval)

    async def _pending(self, parts: list[TopicPartition]) -> int:
        ends = await self._ends.end_offsets(parts)
        committed = await self._admin.list_consumer_group_offsets(self._group, partitions=parts)
        done = {tp: meta.offset for tp, meta in committed.items() if meta is not None}
        return sum(max(0, end - max(done.get(tp, 0), 0)) for tp, end in ends.items())


class Completions:
    """Tells the trigger agent when executions started by concurrency-limited rules end.

    Args:
        bootstrap: Kafka bootstrap servers.
        group: Its consumer group id.
        topic: The executions topic.
        codec: The codec.
        agent: The trigger agent whose rules count running executions.
    """

    def __init__(self, bootstrap: str, group: str, topic: str, codec: Codec,
                 agent: TriggerAgent) -> None:
        self._topic, self._codec, self._agent = topic, codec, agent
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                          enable_auto_commit=False, auto_offset_reset="earliest")
        self._seen: OrderedDict[str, None] = OrderedDict()  # events are delivered at least once

    async def start(self) -> None:
        """Join the group."""
        await self._consumer.start()
        self._consumer.subscribe([self._topic])

    async def stop(self) -> None:
        """Leave the group."""
        await self._consumer.stop()

    async def run(self) -> None:
        """Read executions' events until cancelled."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batches.values():
                for record in records:
                    await self._look(record)
            if batches:
                await self._consumer.commit()

    async def _look(self, record: object) -> None:
        try:
            key = self._codec.decode_key(self._topic, record.key)  # type: ignore[attr-defined]
        except DecodeError:
            return
        if not isinstance(key, str) or ":" not in key or key in self._seen:
            return
        rule_id = key.split(":", 1)[0]
        compiled = self._agent.book.rules.rule(rule_id)
        if compiled is None or compiled.definition.concurrency_limit is None:
            return
        try:
            event = self._codec.decode_value(self._topic, record.value)  # type: ignore[attr-defined]
        except DecodeError:
            return
        if isinstance(event, ExecutionEventBase) and getattr(event, "type", "") in _TERMINAL:
            self._seen[key] = None
            if len(self._seen) > 100_000:
                self._seen.popitem(last=False)
            await self._agent.complete(rule_id)
