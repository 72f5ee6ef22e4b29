"""Every event type survives a trip through a real broker; corruption names topic and offset."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.codec import Codec, DecodeError, DecodeReason
from schemas.executions import ExecutionStarted
from tests.schemas.golden import all_event_models, sample_event

pytestmark = pytest.mark.kafka


async def _consume(bootstrap: str, topic: str, expected: int) -> list[object]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[object] = []
        while len(records) < expected:
            batch = await consumer.getmany(timeout_ms=10_000)
            if not batch:
                break
            records.extend(r for rs in batch.values() for r in rs)
        return records
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer._client.force_metadata_update()  # the topic was just created
        await asyncio.sleep(0.1)
    raise AssertionError(f"no partitions for {topic}")


async def test_every_event_type_round_trips_through_kafka(kafka_bootstrap: str,
                                                           hw_topics: dict[str, str],
                                                           topic_prefix: str) -> None:
    codec = Codec(prefix=topic_prefix)
    sent: dict[str, list[object]] = {}
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for role, model in all_event_models():
            topic, event = hw_topics[role], sample_event(model)
            await producer.send_and_wait(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, _key(role)))
            sent.setdefault(role, []).append(event)
    finally:
        await producer.stop()

    reader = Codec(prefix=topic_prefix)  # a fresh codec, as in another worker process
    for role, events in sent.items():
        topic = hw_topics[role]
        records = await _consume(kafka_bootstrap, topic, len(events))
        decoded = [reader.decode_value(topic, r.value, partition=r.partition, offset=r.offset)
                   for r in records]  # type: ignore[attr-defined]
        keys = {reader.decode_key(topic, r.key) for r in records}  # type: ignore[attr-defined]
        assert sorted(map(repr, decoded)) == sorted(map(repr, events)), role
        assert keys == {_key(role)}


async def test_a_corrupt_record_names_its_topic_and_offset(kafka_bootstrap: str,
                                                           hw_topics: dict[str, str],
                                                           topic_prefix: str) -> None:
    codec = Codec(prefix=topic_prefix)
    topic = hw_topics["executions"]
    good = codec.encode_value(topic, sample_event(ExecutionStarted))
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, good, partition=0)
        meta = await producer.send_and_wait(topic, good[:-3], partition=0)
    finally:
        await producer.stop()

    records = await _consume(kafka_bootstrap, topic, 2)
    bad = next(r for r in records if r.offset == meta.offset)  # type: ignore[attr-defined]
    with pytest.raises(DecodeError) as caught:
        codec.decode_value(topic, bad.value, partition=bad.partition, offset=bad.offset)
    assert (caught.value.topic, caught.value.partition, caught.value.offset) == (topic, 0, meta.offset)
    assert caught.value.reason == DecodeReason.TRUNCATED


def _key(role: str) -> str | bytes:
    return b"\x00original-key" if role == "dead-letters" else f"{role}-key"
