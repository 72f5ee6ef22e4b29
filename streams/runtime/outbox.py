"""The records one processing batch produces, sent with aiokafka's batch API.

`producer.send()` costs a partitioner call, a debug log record and a future per record; most of
what the processor produces goes to a partition it already knows (the execution's own partition
of `hw.executions` and `hw.tasks`), so it appends those to one record batch per partition
instead. `flush` ships what is open, waits for every acknowledgement, and says up to which
offset each partition was written (the processor's checkpoint).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

__all__ = ["Outbox"]


class Outbox:
    """Collects records per topic partition; one `flush` per processing batch.

    Args:
        producer: A started producer (acks=all, idempotent).
    """

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], Any] = {}
        self._sent: list[asyncio.Future[Any]] = []
        self._last: dict[tuple[str, int], tuple[asyncio.Future[Any], int]] = {}
        self._first: dict[tuple[str, int], asyncio.Future[Any]] = {}
        self.began: dict[tuple[str, int], int] = {}
        """After `flush`: the offset the first record appended to each partition got."""

    async def append(self, topic: str, partition: int, key: bytes | None, value: bytes) -> None:
        """Add a record for `partition` of `topic` (in order with the others for it)."""
        batch = self._open.get((topic, partition))
        if batch is None:
            batch = self._open[topic, partition] = self._producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            await self._ship(topic, partition, batch)
            batch = self._open[topic, partition] = self._producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                raise ValueError(f"a record for {topic} does not fit in a batch")

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Add a record whose partition the producer's partitioner chooses."""
        self._sent.append(await self._producer.send(topic, value, key=key))

    async def _ship(self, topic: str, partition: int, batch: Any) -> None:
        future = await self._producer.send_batch(batch, topic, partition=partition)
        self._sent.append(future)
        self._last[topic, partition] = (future, batch.record_count())
        self._first.setdefault((topic, partition), future)

    async def flush(self) -> dict[tuple[str, int], int]:
        """Send everything, wait for every ack; the next offset of each appended-to partition.

        Raises:
            KafkaError: a record was not acknowledged (nothing may be stored or committed).
        """
        for (topic, partition), batch in self._open.items():
            await self._ship(topic, partition, batch)
        self._open.clear()
        if self._sent:
            await asyncio.gather(*self._sent)
        ends = {}
        for where, (future, count) in self._last.items():
            metadata = future.result()
            if metadata is not None and metadata.offset >= 0:
                ends[where] = metadata.offset + count
        self.began = {where: future.result().offset for where, future in self._first.items()
                      if future.result() is not None and future.result().offset >= 0}
        self._sent.clear()
        self._last.clear()
        self._first.clear()
        return ends
