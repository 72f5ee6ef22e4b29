"""The partition loop on a real broker, with a handler of the test's own: a record whose handling
raises becomes a dead letter naming the exception, the record and the handler, and withdraws
what it had staged while the records after it go on; an oversize record is refused before it is
produced; commits never pass an offset the handler still holds; topic limits are the broker's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.codec import Codec
from schemas.dead_letters import DeadLetter
from streams.runtime import (
    Checkpoint,
    DeadLetters,
    LoopConfig,
    Out,
    PartitionLoop,
    Replay,
    TopicTable,
)
from tests.streams.kit import eventually, prefix_of
from tests.support import records_to_end

pytestmark = pytest.mark.kafka


class Echo:
    """Stages ``echo:<value>`` for each record; ``boom`` raises after staging, ``big`` stages a
    record larger than the topic takes."""

    name = "echo"

    def __init__(self, target: str) -> None:
        self.target = target
        self.processed: list[int] = []
        self.stored: dict[int, int] = {}
        self.held: dict[int, int] = {}

    async def assigned(self, partition: int, committed: int) -> Replay | None:
        return None

    def replay(self, record: Any) -> None:
        raise AssertionError("nothing to replay")

    def replayed(self, partition: int, position: int) -> None:
        pass

    async def process(self, record: Any, out: Out) -> None:
        out.put(self.target, record.key, b"echo:" + record.value)
        if record.value == b"boom":
            raise ValueError("boom after staging")
        if record.value == b"big":
            out.put(self.target, record.key, b"x" * 2_000_000)
        self.processed.append(record.offset)

    async def tick(self, now: datetime, out: Out) -> None:
        pass

    def store(self, checkpoints: Mapping[int, Checkpoint]) -> None:
        self.stored.update({p: c.consumed for p, c in checkpoints.items()})

    def holding(self, partition: int) -> int | None:
        return self.held.get(partition)

    def revoked(self, partition: int) -> None:
        pass


@asynccontextmanager
async def running(bootstrap: str, topics: dict[str, str], handler: Echo,
                  source: str, config: LoopConfig | None = None) -> AsyncIterator[PartitionLoop]:
    codec = Codec(prefix=prefix_of(topics))
    config = config or LoopConfig()
    producer = AIOKafkaProducer(**config.producer(bootstrap))
    await producer.start()
    table = await TopicTable.read(bootstrap, topics.values(), config.max_request_size)
    loop = PartitionLoop(handler, bootstrap=bootstrap, group=f"{prefix_of(topics)}echo",
                         topic=topics[source], producer=producer, table=table,
                         dead_letters=DeadLetters(topics["dead-letters"], codec), config=config)
    await loop.start()
    task = asyncio.create_task(loop.run())
    try:
        yield loop
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await loop.stop()
        await producer.stop()


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=b"k", partition=0)
    finally:
        await producer.stop()


async def committed(loop: PartitionLoop, partition: int) -> int:
    assert loop._consumer is not None
    return await loop._consumer.committed(TopicPartition(loop.topic, partition)) or 0


async def test_a_poison_record_becomes_a_dead_letter_and_the_partition_goes_on(
    kafka_bootstrap: str, hw_topics: dict[str, str],
) -> None:
    # Given records of which one raises after staging and one stages an oversize record
    source, target = hw_topics["tasks"], hw_topics["triggers"]
    await produce(kafka_bootstrap, source, [b"a", b"boom", b"b", b"big", b"c"])
    echo = Echo(target)

    # When the loop runs them
    async with running(kafka_bootstrap, hw_topics, echo, "tasks") as loop:
        await eventually(lambda: echo.stored.get(0) == 5, 30)
        await eventually(lambda: loop._committed.get(0) == 5, 30)
        assert await committed(loop, 0) == 5

    # Then the good records were answered, and nothing the bad ones staged was produced
    assert echo.processed == [0, 2, 4]
    out = [r.value for r in await records_to_end(kafka_bootstrap, target)]
    assert out == [b"echo:a", b"echo:b", b"echo:c"]
    # and each bad one is a dead letter saying what happened, where, and in which handler
    codec = Codec(prefix=prefix_of(hw_topics))
    letters = [codec.decode_value(r.topic, r.value)
               for r in await records_to_end(kafka_bootstrap, hw_topics["dead-letters"])]
    assert all(isinstance(letter, DeadLetter) for letter in letters)
    by_offset = {letter.offset: letter for letter in letters}
    assert sorted(by_offset) == [1, 3]
    boom, big = by_offset[1], by_offset[3]
    assert (boom.topic, boom.partition, boom.consumer) == (source, 0, "echo")
    assert boom.reason == "handler_error"
    assert "ValueError: boom after staging" in boom.message
    assert boom.value == b"boom" and boom.key == b"k"
    assert big.reason == "input_too_large"
    assert "2000001 bytes" in big.message and target in big.message


async def test_the_commit_never_passes_an_offset_the_handler_still_holds(
    kafka_bootstrap: str, hw_topics: dict[str, str],
) -> None:
    # Given a handler still working on offset 1 (a slow call, say)
    echo = Echo(hw_topics["triggers"])
    echo.held[0] = 1
    await produce(kafka_bootstrap, hw_topics["tasks"], [b"a", b"b", b"c"])
    async with running(kafka_bootstrap, hw_topics, echo, "tasks") as loop:
        # When the records are processed, only the offsets before it are committed
        await eventually(lambda: echo.stored.get(0) == 3, 30)
        await asyncio.sleep(0.5)
        assert await committed(loop, 0) == 1
        # and once it lets go, the rest follows without any new record
        del echo.held[0]
        await eventually(lambda: loop._committed.get(0) == 3, 30)
        assert await committed(loop, 0) == 3


def counting_commits(loop: PartitionLoop) -> list[dict[TopicPartition, int]]:
    """The offsets of each commit request the loop's (real) consumer sends from now on."""
    consumer, sent = loop._consumer, []
    assert consumer is not None
    commit = consumer.commit

    async def counted(offsets: Any = None) -> None:
        sent.append(dict(offsets or {}))
        await commit(offsets)

    consumer.commit = counted  # type: ignore[method-assign]
    return sent


async def test_under_load_commits_wait_for_the_interval_and_come_at_once_when_caught_up(
    kafka_bootstrap: str, hw_topics: dict[str, str],
) -> None:
    # Given a loop whose commit interval is longer than the test, and whose polls wait long
    config = LoopConfig(commit_interval_ms=600_000, poll_timeout_ms=3000)
    echo = Echo(hw_topics["triggers"])
    async with running(kafka_bootstrap, hw_topics, echo, "tasks", config) as loop:
        await eventually(lambda: loop.owned, 30)
        sent = counting_commits(loop)
        # When records keep coming, one at a time (a cycle each)
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for i in range(20):
                await producer.send_and_wait(hw_topics["tasks"], b"r%d" % i, key=b"k",
                                             partition=0)
                await asyncio.sleep(0.02)
        finally:
            await producer.stop()
        await eventually(lambda: echo.stored.get(0) == 20, 30)
        # Then at most the first of those cycles committed (the interval had not begun)
        assert len(sent) <= 1
        # and once a poll finds nothing new, everything stored is committed without waiting
        # for the interval
        await eventually(lambda: loop._committed.get(0) == 20, 15)
        assert await committed(loop, 0) == 20
        assert len(sent) <= 2


async def test_a_revoked_partition_is_committed_as_far_as_it_was_stored(
    kafka_bootstrap: str, hw_topics: dict[str, str],
) -> None:
    # Given a loop that processed records but, within its interval and still polling, has not
    # committed them
    config = LoopConfig(commit_interval_ms=600_000, poll_timeout_ms=60_000)
    await produce(kafka_bootstrap, hw_topics["tasks"], [b"a", b"b", b"c"])
    first, second = Echo(hw_topics["triggers"]), Echo(hw_topics["triggers"])
    async with running(kafka_bootstrap, hw_topics, first, "tasks", config) as loop:
        await eventually(lambda: first.stored.get(0) == 3, 30)
        await produce(kafka_bootstrap, hw_topics["tasks"], [b"d"])
        await eventually(lambda: first.stored.get(0) == 4, 30)
        # When a second member joins the group (every partition is revoked and reassigned)
        async with running(kafka_bootstrap, hw_topics, second, "tasks", config):
            await eventually(lambda: len(loop.owned) < 6, 60)
            # Then what the first had stored was committed on the revocation, so whoever owns
            # partition 0 now goes on from there rather than processing it again
            assert await committed(loop, 0) == 4
        assert second.processed == []


class Slow(Echo):
    """An `Echo` whose record ``slow`` takes a while (a cycle under way when the loop stops)."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.started = asyncio.Event()

    async def process(self, record: Any, out: Out) -> None:
        if record.value == b"slow":
            self.started.set()
            await asyncio.sleep(1)
        await super().process(record, out)


async def test_a_stop_lets_the_cycle_under_way_finish_so_the_store_is_in_step_with_the_log(
    kafka_bootstrap: str, hw_topics: dict[str, str],
) -> None:
    # Given a loop in the middle of a cycle
    await produce(kafka_bootstrap, hw_topics["tasks"], [b"slow"])
    slow = Slow(hw_topics["triggers"])
    async with running(kafka_bootstrap, hw_topics, slow, "tasks") as loop:
        await asyncio.wait_for(slow.started.wait(), 30)
    # When it is stopped (the context cancels `run`, then stops the loop)
    # Then the cycle finished: its record was produced, its state stored and committed
    assert slow.stored.get(0) == 1
    produced = await records_to_end(kafka_bootstrap, hw_topics["triggers"])
    assert [r.value for r in produced] == [b"echo:slow"]
    assert loop._committed.get(0) == 1


async def test_topic_limits_are_read_from_the_broker(
    kafka_bootstrap: str, topic_prefix: str,
) -> None:
    small = f"{topic_prefix}small"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(small, 2, 1,
                                            topic_configs={"max.message.bytes": "20000"})])
    finally:
        await admin.close()
    table = await TopicTable.read(kafka_bootstrap, [small], max_request_size=1024 * 1024)
    assert table.count(small) == 2
    assert 19_000 < table.limit(small) < 20_000
    capped = await TopicTable.read(kafka_bootstrap, [small], max_request_size=10_000)
    assert capped.limit(small) < 10_000  # the producer's own limit, when smaller
    with pytest.raises(RuntimeError, match="does not exist"):
        table.count(f"{topic_prefix}missing")
