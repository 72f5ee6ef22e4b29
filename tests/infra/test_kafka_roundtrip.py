"""The broker under everything: what we write comes back, complete, ordered and where Kafka puts it."""

from __future__ import annotations

import asyncio
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.kafka import fetch_distribution

pytestmark = pytest.mark.kafka
RECORDS = 100_000
PARTITIONS = 6


def java_partitions(keys: list[str], partitions: int) -> list[int]:
    """Partitions that the official Java client's default partitioner gives `keys`."""
    dist = fetch_distribution()
    source = Path(__file__).with_name("java") / "KeyPartition.java"
    proc = subprocess.run(
        [dist.java, "-cp", dist.classpath, str(source), str(partitions)],
        input="\n".join(keys) + "\n", capture_output=True, text=True, timeout=120, check=True,
    )
    return [int(line) for line in proc.stdout.split()]


async def _create(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


async def _produce(bootstrap: str, topic: str, keys: list[str]) -> dict[int, list[int]]:
    """Send record i with key keys[i] and value i; return partition -> values in offset order."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    placed: dict[int, list[tuple[int, int]]] = defaultdict(list)
    try:
        futures = [await producer.send(topic, key=k.encode(), value=str(i).encode())
                   for i, k in enumerate(keys)]
        for i, meta in enumerate(await asyncio.gather(*futures)):
            placed[meta.partition].append((meta.offset, i))
    finally:
        await producer.stop()
    return {p: [i for _, i in sorted(v)] for p, v in placed.items()}


async def _consume(bootstrap: str, topic: str, group: str, expected: int) -> dict[int, list[int]]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_poll_records=5000)
    await consumer.start()
    seen: dict[int, list[int]] = defaultdict(list)
    try:
        count, idle = 0, 0
        while count < expected and idle < 20:
            batch = await consumer.getmany(timeout_ms=1000)
            idle = 0 if batch else idle + 1
            for tp, messages in batch.items():
                seen[tp.partition].extend(int(m.value) for m in messages)
                count += len(messages)
        await consumer.commit()
    finally:
        await consumer.stop()
    return dict(seen)


def test_100k_records_come_back_complete_in_order_on_the_default_partition(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}roundtrip"
    keys = [f"customer-{i % 9973}" for i in range(RECORDS)]

    async def scenario() -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        await _create(kafka_bootstrap, topic, PARTITIONS)
        produced = await _produce(kafka_bootstrap, topic, keys)
        consumed = await _consume(kafka_bootstrap, topic, f"{topic_prefix}group", RECORDS)
        return produced, consumed

    produced, consumed = asyncio.run(scenario())

    # none lost, none duplicated
    assert sorted(v for vs in consumed.values() for v in vs) == list(range(RECORDS))
    # per-partition order: the consumer sees each partition in the order the broker stored it,
    # and records sent one after another with one key stay in send order
    assert consumed == produced
    for values in consumed.values():
        by_key: dict[str, list[int]] = defaultdict(list)
        for v in values:
            by_key[keys[v]].append(v)
        assert all(vs == sorted(vs) for vs in by_key.values())
    # every key landed where the Java client's default partitioner puts it
    distinct = sorted(set(keys))
    reference = dict(zip(distinct, java_partitions(distinct, PARTITIONS), strict=True))
    for partition, values in consumed.items():
        assert {reference[keys[v]] for v in values} == {partition}
