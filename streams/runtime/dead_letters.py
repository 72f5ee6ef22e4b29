"""Dead letters: a record an agent cannot process is kept on `hw.dead-letters`, with why.

The agent then moves on: one bad record never stalls a partition. The dead letter keeps the
original key, value and headers byte for byte, and where they came from (a value too large to
fit next to its explanation is cut, and the message says so). The partition loop stages dead
letters in its cycle's outbox (`streams.runtime.out`), so a batch of poison records costs one
produce, not one round trip each, and their log lines are rate-limited: thousands of bad
records cannot slow the valid ones behind them by logging.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from aiokafka import AIOKafkaProducer

from schemas.codec import Codec
from schemas.dead_letters import DeadLetter, Header

__all__ = ["DeadLetterSink", "DeadLetters", "RateLimitedLog", "Record", "dead_letter"]

log = logging.getLogger(__name__)

_ROOM = 8 * 1024
"""Bytes a dead letter keeps for everything but the original value (message, headers)."""


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
                failed_at: datetime, max_value: int | None = None) -> DeadLetter:
    """The dead letter for `record`, refused by `consumer` for `reason`.

    Args:
        max_value: Cut the original value to this many bytes (the message says so).
    """
    value = record.value
    if max_value is not None and value is not None and len(value) > max_value:
        message = f"{message} [value cut from {len(value)} to {max_value} bytes]"
        value = value[:max_value]
    return DeadLetter(
        topic=record.topic, partition=record.partition, offset=record.offset,
        key=record.key, value=value,
        headers=tuple(Header(key=k, value=v) for k, v in record.headers or ()),
        reason=reason, message=message[:4000], failed_at=failed_at, consumer=consumer,
        original_timestamp_ms=record.timestamp if record.timestamp and record.timestamp >= 0 else None,
    )


class RateLimitedLog:
    """At most `burst` lines per `window_s`; then one line saying how many were not shown.

    Args:
        logger: Where the lines go.
        what: What is counted, for the summary line ("dead letters").
        burst: Lines shown per window.
        window_s: The window.
    """

    def __init__(self, logger: logging.Logger, what: str, burst: int = 20,
                 window_s: float = 10.0) -> None:
        self._log, self._what, self._burst, self._window = logger, what, burst, window_s
        self._started, self._shown, self._hidden = 0.0, 0, 0

    def log(self, level: int, fmt: str, *args: object, exc_info: BaseException | None = None) -> None:
        """Log one line at `level`, unless this window's burst is spent."""
        now = time.monotonic()
        if now - self._started >= self._window:
            if self._hidden:
                self._log.warning("%d more %s in the last %.0f s (not logged one by one)",
                                  self._hidden, self._what, now - self._started)
            self._started, self._shown, self._hidden = now, 0, 0
        if self._shown < self._burst:
            self._shown += 1
            self._log.log(level, fmt, *args, exc_info=exc_info)
        else:
            self._hidden += 1


class DeadLetters:
    """Makes the records of dead letters (the loop produces them with its cycle).

    Args:
        topic: The dead-letters topic.
        codec: The codec for its records.
        max_bytes: The largest record the topic takes.
    """

    def __init__(self, topic: str, codec: Codec, max_bytes: int = 1_000_000) -> None:
        self.topic, self._codec = topic, codec
        self._max_value = max(0, max_bytes - _ROOM - 2 * 1024)
        self._log = RateLimitedLog(log, "dead letters")

    def letter(self, record: Record, reason: str, message: str, consumer: str,
               now: datetime) -> tuple[str, bytes | None, bytes]:
        """The dead letter of `record` as (topic, key, value) bytes, and its log line."""
        self._log.log(logging.WARNING, "dead letter from %s[%d]@%d (%s): %s %s", record.topic,
                          record.partition, record.offset, consumer, reason, message[:200])
        letter = dead_letter(record, reason, message, consumer, now, self._max_value)
        return (self.topic, self._codec.encode_key(self.topic, record.key),
                self._codec.encode_value(self.topic, letter))


class DeadLetterSink:
    """Writes dead letters one at a time with a shared producer (outside a partition loop).

    Args:
        producer: A started producer (acks=all).
        letters: How dead letters are made.
    """

    def __init__(self, producer: AIOKafkaProducer, letters: DeadLetters) -> None:
        self._producer, self._letters = producer, letters

    async def refuse(self, record: Record, reason: str, message: str, consumer: str) -> None:
        """Write the dead letter of `record` and wait until the broker has it."""
        topic, key, value = self._letters.letter(record, reason, message, consumer,
                                                 datetime.now(UTC))
        await self._producer.send_and_wait(topic, value, key=key)
