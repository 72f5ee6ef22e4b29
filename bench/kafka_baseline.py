"""Raw aiokafka produce and consume throughput on the local broker: the ceiling for every other
benchmark. Prints records/s and MB/s for 100-byte and 1 KiB records, with per-record `send()`
and with aiokafka's batch API, and consumer throughput with `getmany`.

    .venv/bin/python -m bench.kafka_baseline [--records 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import time
import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench._broker import broker, machine

PARTITIONS = 6


@dataclass
class Figure:
    name: str
    records: int
    size: int
    seconds: float

    def line(self) -> str:
        rate = self.records / self.seconds
        return (f"{self.name:<34} {self.size:>5} B  {rate:>11,.0f} rec/s  "
                f"{rate * self.size / 1e6:>7.1f} MB/s  ({self.records:,} in {self.seconds:.2f} s)")


async def create(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()


def _producer(bootstrap: str) -> AIOKafkaProducer:
    # The engine's settings: acks=all and idempotence, so the figure is the one we can promise.
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                            linger_ms=5, max_batch_size=512 * 1024)


async def produce_each(bootstrap: str, topic: str, n: int, size: int) -> Figure:
    producer = _producer(bootstrap)
    await producer.start()
    value = b"x" * size
    try:
        start = time.perf_counter()
        futures = [await producer.send(topic, value=value, key=str(i % 1000).encode()) for i in range(n)]
        await asyncio.gather(*futures)
        return Figure("produce, send() per record", n, size, time.perf_counter() - start)
    finally:
        await producer.stop()


async def produce_batched(bootstrap: str, topic: str, n: int, size: int) -> Figure:
    producer = _producer(bootstrap)
    await producer.start()
    value = b"x" * size
    try:
        start = time.perf_counter()
        pending = []
        partition = 0
        batch = producer.create_batch()
        for i in range(n):
            if batch.append(key=None, value=value, timestamp=None) is None:
                pending.append(await producer.send_batch(batch, topic, partition=partition))
                partition = (partition + 1) % PARTITIONS
                batch = producer.create_batch()
                batch.append(key=None, value=value, timestamp=None)
            del i
        pending.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*pending)
        return Figure("produce, batch API", n, size, time.perf_counter() - start)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, n: int, size: int) -> Figure:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_poll_records=10000, fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        seen = 0
        while not consumer.assignment():  # join the group before the clock starts
            for messages in (await consumer.getmany(timeout_ms=100)).values():
                seen += len(messages)
        start = time.perf_counter()
        while seen < n:
            for messages in (await consumer.getmany(timeout_ms=1000)).values():
                seen += len(messages)
        return Figure("consume, getmany()", seen, size, time.perf_counter() - start)
    finally:
        await consumer.stop()


async def run(bootstrap: str, records: int) -> list[Figure]:
    figures = []
    for size in (100, 1024):
        n = records if size == 100 else records // 2
        each, batched = f"bench.each.{size}.{uuid.uuid4().hex[:6]}", f"bench.batch.{size}.{uuid.uuid4().hex[:6]}"
        await create(bootstrap, each)
        await create(bootstrap, batched)
        figures.append(await produce_each(bootstrap, each, n, size))
        figures.append(await produce_batched(bootstrap, batched, 2 * n, size))
        figures.append(await consume(bootstrap, batched, 2 * n, size))
    return figures


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with broker() as bootstrap:
        print(f"broker: {bootstrap} (Kafka, single node, {PARTITIONS} partitions, acks=all, idempotent)")
        for figure in asyncio.run(run(bootstrap, args.records)):
            print(figure.line())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the benchmark process: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
