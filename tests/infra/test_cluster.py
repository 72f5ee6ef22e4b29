"""A 3-node cluster keeps every acknowledged write while one node is down and after it returns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.kafka import LocalCluster

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]
TOPIC = "failover"
PER_PHASE = 3000


async def _write(producer: AIOKafkaProducer, start: int, count: int) -> list[int]:
    futures = [await producer.send(TOPIC, key=str(i % 50).encode(), value=str(i).encode())
               for i in range(start, start + count)]
    await asyncio.gather(*futures)  # raises if any write was not acknowledged by the ISR
    return list(range(start, start + count))


async def _read_all(bootstrap: str, expected: int, group: str) -> list[int]:
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    values: list[int] = []
    try:
        idle = 0
        while len(values) < expected and idle < 30:
            batch = await consumer.getmany(timeout_ms=1000)
            idle = 0 if batch else idle + 1
            values += [int(m.value) for ms in batch.values() for m in ms]
    finally:
        await consumer.stop()
    return values


def test_acks_all_writes_survive_a_node_stop_and_restart(
    cluster_factory: Callable[[int], LocalCluster],
) -> None:
    cluster = cluster_factory(3)
    bootstrap = cluster.bootstrap

    async def phase(start: int) -> list[int]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                    enable_idempotence=True, request_timeout_ms=30000)
        await producer.start()
        try:
            return await _write(producer, start, PER_PHASE)
        finally:
            await producer.stop()

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(TOPIC, 6, 3, topic_configs={"min.insync.replicas": "2"})])
        finally:
            await admin.close()

    asyncio.run(create())
    written = asyncio.run(phase(0))

    cluster.stop_node(1)  # node 2 leaves; 2 of 3 replicas remain in sync
    written += asyncio.run(phase(PER_PHASE))
    while_down = asyncio.run(_read_all(bootstrap, len(written), "while-down"))
    assert sorted(while_down) == written

    cluster.start_node(1)
    written += asyncio.run(phase(2 * PER_PHASE))
    after = asyncio.run(_read_all(bootstrap, len(written), "after-restart"))
    assert sorted(after) == written
