"""Dead letters: a record an agent cannot process is kept on `hw.dead-letters`, with why.

The agent then moves on: one bad record never stalls a partition. The dead letter keeps the
original key, value and headers byte for byte, and where they came from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaProducer

from schemas.codec import Codec
from schemas.dead_letters import DeadLetter, Header

__all__ = ["DeadLetterSink", "Record", "dead_letter"]

log = logging.getLogger(__name__)


class Record(Protocol):
    """What a dead letter needs of a consumed record (aiokafka's `ConsumerRecord` has it)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]
    timestamp: int


def dead_letter(record: Record, reason: str, message: str, consumer: str,
                failed_at: datetime) -> DeadLetter:
    """The dead letter for `record`, refused by `consumer` for `reason`."""
    return DeadLetter(
        topic=record.topic, partition=record.partition, offset=record.offset,
        key=record.key, value=record.value,
        headers=tuple(Header(key=k, value=v) for k, v in record.headers or ()),
        reason=reason, message=message[:4000], failed_at=failed_at, consumer=consumer,
        original_timestamp_ms=record.timestamp if record.timestamp and record.timestamp >= 0 else None,
    )


class DeadLetterSink:
    """Writes dead letters with a shared producer.

    Args:
        producer: A started producer (acks=all).
        topic: The dead-letters topic.
        codec: The codec for its records.
    """

    def __init__(self, producer: AIOKafkaProducer, topic: str, codec: Codec) -> None:
        self._producer, self._topic, self._codec = producer, topic, codec

    async def refuse(self, record: Record, reason: str, message: str, consumer: str) -> None:
        """Write the dead letter of `record` and wait until the broker has it."""
        letter = dead_letter(record, reason, message, consumer, datetime.now(UTC))
        log.warning("dead letter from %s[%d]@%d: %s %s", record.topic, record.partition,
                    record.offset, reason, message[:200])
        await self._producer.send_and_wait(
            self._topic, self._codec.encode_value(self._topic, letter),
            key=self._codec.encode_key(self._topic, record.key))
