"""The API's way into the log: definitions, commands and triggers, in the engine's wire format.

The producer connects on first use, so the API serves reads while Kafka is still coming up;
a send that cannot reach Kafka becomes a 503 for the caller rather than a lost write.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from fastapi import HTTPException
from pydantic import BaseModel

from projections.errors import ErrorItem, problem
from schemas.codec import Codec, EncodeError

__all__ = ["EventProducer"]

log = logging.getLogger(__name__)


class EventProducer:
    """An idempotent producer (acks=all) that encodes events for the topic they go to.

    Args:
        bootstrap: Kafka bootstrap servers.
        topics: Role -> topic name (``infra.topics.topic_names``).
        kafka_options: aiokafka's security keyword arguments.
    """

    def __init__(self, bootstrap: str, topics: Mapping[str, str], *,
                 kafka_options: Mapping[str, Any] | None = None) -> None:
        self.bootstrap = bootstrap
        self.kafka_options = dict(kafka_options or {})
        self.topics = dict(topics)
        prefix = self.topics.get("executions", "hw.executions").removesuffix("executions")
        self.codec = Codec(prefix=prefix)
        self.sent_by_role: Counter[str] = Counter()
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                            enable_idempotence=True, linger_ms=2,
                                            request_timeout_ms=10_000, **self.kafka_options)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def stop(self) -> None:
        """Flush and disconnect (a later send connects again)."""
        async with self._lock:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def send(self, role: str, key: str | bytes | None, event: BaseModel) -> None:
        """Append ``event`` to the topic of ``role`` and wait until Kafka has it."""
        await self.send_many(role, [(key, event)])

    async def send_many(self, role: str,
                        items: Sequence[tuple[str | bytes | None, BaseModel]]) -> None:
        """Append several events to one topic; return once Kafka has all of them.

        Raises:
            HTTPException: 503 when Kafka cannot be reached; 422 when an event cannot be
                encoded (e.g. an integer beyond 64 bits in a payload); 413 when a record is
                larger than Kafka takes (the client's mistake, not Kafka's).
        """
        topic = self.topics[role]
        try:
            records = [(self.codec.encode_key(topic, key), self.codec.encode_value(topic, event))
                       for key, event in items]
        except EncodeError as exc:
            raise HTTPException(422, str(exc)) from None
        try:
            producer = await self._started()
            futures = [await producer.send(topic, value, key=key) for key, value in records]
            await asyncio.gather(*futures)
        except MessageSizeTooLargeError:
            size = max(len(value) for _, value in records)
            raise problem(413, "record too large for Kafka", [ErrorItem(
                path="body", code="record_too_large",
                message=f"the encoded record is {size} bytes, more than the topic {topic} "
                        "accepts")]) from None
        except KafkaError as exc:
            log.warning("cannot write to %s: %s", topic, exc)
            raise HTTPException(503, f"Kafka is not reachable: {type(exc).__name__}") from None
        self.sent_by_role[role] += len(records)

    async def send_raw(self, topic: str, key: bytes | None, value: bytes | None,
                       headers: Sequence[tuple[str, bytes]] = ()) -> None:
        """Append a record as it is (a redriven dead letter) and wait until Kafka has it.

        Raises:
            HTTPException: 503 when Kafka cannot be reached.
        """
        try:
            producer = await self._started()
            await producer.send_and_wait(topic, value, key=key, headers=list(headers) or None)
        except KafkaError as exc:
            log.warning("cannot write to %s: %s", topic, exc)
            raise HTTPException(503, f"Kafka is not reachable: {type(exc).__name__}") from None
