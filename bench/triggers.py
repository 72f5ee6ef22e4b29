"""Trigger ingestion: events/s through rule evaluation with 10, 500 and 5,000 active rules, and
p50/p99 latency from publish to rule outcome, next to raw aiokafka figures measured in the same
run (`bench.kafka_baseline`).

Workload: Avro triggers of 20 event types; each rule names one type, an equality on
`data.customer`, a second condition (a range, an equality or a regex) and a `start_workflow`
action whose input reads the event. About 1% of the events match one rule (`--match`); the rest
meet candidates of their type and match none, as most traffic does.

Three figures per rule count:

- `cpu`: the agent's per-record work in this process without a broker (decode, evaluate,
  outcomes and action records encoded), records/s of CPU;
- `burst`: a trigger agent (`streams.triggers.TriggerAgent`, as the worker runs it, with its
  definitions feed, pattern store and idempotent acks=all producer) in a child process, started
  on a backlog of `--events` triggers; records/s from its first batch to its last commit;
- `paced`: triggers published at `--rate` while the agent runs; publish-to-outcome latency of
  the matching ones (publish time in the event's `time`, outcome at its record's CreateTime).

With `--workers N` the burst is shared by N agent processes in one group (each waits, paused,
until all have joined, so that no rebalance is timed).

    .venv/bin/python -m bench.triggers [--rules 10,500,5000] [--events 100000] [--rate 5000]
        [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import logging
import multiprocessing
import pstats
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import kafka_baseline
from bench._broker import MachineCpu, broker, machine, nodes, replication
from schemas.codec import Codec
from schemas.definition_events import DefinitionPublished
from schemas.definitions import RuleDefinition
from schemas.triggers import TriggerEvent

PARTITIONS = 6
TYPES = [f"shop.order.e{i}" for i in range(20)]
TIERS = ["gold", "silver", "bronze"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


# -- workload -----------------------------------------------------------------------------------


def make_rules(n: int) -> list[RuleDefinition]:
    """`n` rules; rule `i` fires for customer `vip-<i>` on its event type."""
    rules = []
    for i in range(n):
        second: dict[str, Any] = (
            {"$gte": {"data.amount": 0}} if i % 3 == 0
            else {"data.tier": "gold"} if i % 3 == 1
            else {"$mt": {"data.email": ".*@example\\.com"}})
        rules.append(RuleDefinition.model_validate({
            "id": f"rule-{i:05d}", "name": f"Rule {i}",
            "trigger": {"event_type": TYPES[i % len(TYPES)]},
            "conditions": {"$and": [{"data.customer": f"vip-{i}"}, second]},
            "actions": [{"type": "start_workflow", "workflow_id": "follow-up",
                         "input": {"customer": "${ event.data.customer }",
                                   "amount": "${ event.data.amount }"}}],
        }))
    return rules


def make_event(k: int, n_rules: int, match: float, rnd: random.Random,
               when: datetime = NOW) -> TriggerEvent:
    """Event `k`: with probability `match` it is one rule's (type, vip customer), else none's."""
    if rnd.random() < match:
        rule = rnd.randrange(n_rules)
        kind, customer = TYPES[rule % len(TYPES)], f"vip-{rule}"
    else:
        kind, customer = rnd.choice(TYPES), f"cust-{rnd.randrange(100_000)}"
    return TriggerEvent(
        id=f"ev-{k}", source="bench/shop", type=kind, subject=customer, time=when,
        datacontenttype="application/json",
        data={"customer": customer, "amount": rnd.randrange(1000), "tier": "gold",
              "email": "a@example.com", "items": [{"sku": f"sku-{k % 97}", "qty": 1}]})


def definition_event(rule: RuleDefinition) -> DefinitionPublished:
    return DefinitionPublished(kind="rule", definition_id=rule.id, version=rule.version,
                               definition=rule.model_dump(mode="json", by_alias=True),
                               published_at=NOW)


# -- CPU path without a broker ------------------------------------------------------------------


@dataclass
class _Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp: int


class _Future(asyncio.Future[Any]):
    pass


class _NullProducer:
    """Takes records and acknowledges them at once: the agent's own CPU cost, no broker."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, topic: str, value: bytes, key: bytes | None = None, **_: Any) -> Any:
        self.sent += 1
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> Any:
        self.sent += batch.record_count()
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def create_batch(self) -> Any:
        return _NullBatch()

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(PARTITIONS))


class _NullBatch:
    def __init__(self) -> None:
        self.count = 0

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: int | None,
               headers: Any = None) -> Any:
        self.count += 1
        return self

    def record_count(self) -> int:
        return self.count

    def close(self) -> None:
        pass


def records_for(codec: Codec, topic: str, events: list[TriggerEvent]) -> list[_Record]:
    stamp = int(NOW.timestamp() * 1000)
    return [_Record(topic, 0, k, codec.encode_key(topic, e.key), codec.encode_value(topic, e),
                    (), stamp) for k, e in enumerate(events)]


async def cpu_rate(n_rules: int, n_events: int, match: float, profile: bool = False) -> str:
    """Records/s of the agent's batch path for one partition, with a producer that acks at once."""
    from streams.runtime import Checkpoint, DeadLetters, DefinitionRegistry, Out, TopicTable
    from streams.runtime.outbox import Outbox
    from streams.triggers.agent import TriggerAgent
    from streams.triggers.rule_state import RuleStateStore

    prefix = "cpu."
    codec = Codec(prefix=prefix)
    topics = {r: f"{prefix}{r}" for r in ("triggers", "rule-outcomes", "commands",
                                           "dead-letters", "definitions")}
    registry = DefinitionRegistry()
    for rule in make_rules(n_rules):
        registry.apply(definition_event(rule))
    rnd = random.Random(7)
    records = records_for(codec, topics["triggers"],
                          [make_event(k, n_rules, match, rnd) for k in range(n_events)])

    class Feed:
        pass

    feed = Feed()
    feed.registry = registry  # type: ignore[attr-defined]
    table = TopicTable({t: PARTITIONS for t in topics.values()},
                       {t: 1_000_000 for t in topics.values()})
    letters = DeadLetters(topics["dead-letters"], codec)
    with tempfile.TemporaryDirectory(prefix="hw-bench-triggers-") as tmp:
        store = RuleStateStore(Path(tmp))
        producer = _NullProducer()
        agent = TriggerAgent(topics, codec, feed, store, lambda: NOW,  # type: ignore[arg-type]
                             _never)
        agent.book.sync(registry)
        await agent.assigned(0, 0)
        batches = [records[i:i + 2000] for i in range(0, len(records), 2000)]

        async def cycle(batch: list[_Record]) -> None:
            # What the partition loop does with a poll, but for the commit.
            out = Out(table, letters, agent.name, NOW)
            for record in batch:
                await agent.process(record, out)
            await out.flush(Outbox(producer))  # type: ignore[arg-type]
            agent.store({0: Checkpoint(batch[-1].offset + 1)})

        await cycle(batches[0])  # warm up
        agent.store({0: Checkpoint(0)})  # and take the first batch again below
        profiler = cProfile.Profile() if profile else None
        started_cpu = time.process_time()
        if profiler:
            profiler.enable()
        for batch in batches:
            await cycle(batch)
        if profiler:
            profiler.disable()
        seconds = time.process_time() - started_cpu
        store.close()
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
    return (f"cpu    {n_rules:>5} rules: {n_events / seconds:>9,.0f} records/s of CPU "
            f"({producer.sent:,} records produced)")


async def _never(partition: int, when: datetime) -> int:
    return 0


# -- end to end on the broker -------------------------------------------------------------------


def agent_main(bootstrap: str, prefix: str, data_dir: str, report: Any) -> None:
    """Child process: the definitions feed and one trigger agent, until told to stop."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_agent(bootstrap, prefix, Path(data_dir), report))


async def _agent(bootstrap: str, prefix: str, data_dir: Path, report: Any) -> None:
    from infra.topics import topic_names
    from streams.runtime import (
        DeadLetters,
        DeadLetterSink,
        DefinitionsFeed,
        LoopConfig,
        PartitionLoop,
        TopicTable,
    )
    from streams.triggers.agent import TriggerAgent
    from streams.triggers.rule_state import RuleStateStore

    topics = topic_names(prefix)
    codec = Codec(prefix=prefix)
    config = LoopConfig()
    producer = AIOKafkaProducer(**config.producer(bootstrap))
    await producer.start()
    table = await TopicTable.read(bootstrap, topics.values(), config.max_request_size)
    letters = DeadLetters(topics["dead-letters"], codec, table.limit(topics["dead-letters"]))
    feed = DefinitionsFeed(bootstrap, topics["definitions"], codec,
                           DeadLetterSink(producer, letters))
    await feed.start()
    feeding = asyncio.create_task(feed.run())  # sync waits for the feed to catch up
    await feed.sync()
    store = RuleStateStore(data_dir / "rules")
    loop: PartitionLoop | None = None

    async def offset_at(partition: int, when: datetime) -> int:
        assert loop is not None
        return await loop.offset_at(partition, when)

    agent = TriggerAgent(topics, codec, feed, store, lambda: datetime.now(UTC), offset_at)
    loop = PartitionLoop(agent, bootstrap=bootstrap, group=f"{prefix}bench.triggers",
                         topic=topics["triggers"], producer=producer, table=table,
                         dead_letters=letters, config=config)
    await loop.start()
    loop.pause(True)  # joins the group, but reads nothing before every agent has joined
    running = asyncio.create_task(loop.run())
    report.send(("ready", len(agent.book.rules)))
    while not loop.owned:
        await asyncio.sleep(0.005)
    report.send(("assigned", sorted(loop.owned)))
    told = await asyncio.get_running_loop().run_in_executor(None, report.recv)
    while told == "again":  # the group was still forming: report what is owned after a while
        await asyncio.sleep(0.5)
        report.send(("assigned", sorted(loop.owned)))
        told = await asyncio.get_running_loop().run_in_executor(None, report.recv)
    if told == "go":
        loop.pause(False)  # the agents start on their backlog now
        await asyncio.get_running_loop().run_in_executor(None, report.recv)  # done
    for task in (running, feeding):
        task.cancel()
    await asyncio.gather(running, feeding, return_exceptions=True)
    await loop.stop()
    await feed.stop()
    await producer.stop()
    store.close()


async def committed(bootstrap: str, group: str, topic: str, total: int) -> float:
    """Watch a group's commits on `topic` until `total` records are committed; when."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        while True:
            offsets = await admin.list_consumer_group_offsets(group)
            if sum(o.offset for tp, o in offsets.items() if tp.topic == topic) >= total:
                return time.time()
            await asyncio.sleep(0.02)
    finally:
        await admin.close()


async def publish_rules(producer: AIOKafkaProducer, codec: Codec, topic: str,
                        rules: list[RuleDefinition]) -> None:
    sends = []
    for rule in rules:
        event = definition_event(rule)
        sends.append(await producer.send(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, event.key)))
    await asyncio.gather(*sends)


async def produce(producer: AIOKafkaProducer, codec: Codec, topic: str,
                  events: Iterator[TriggerEvent]) -> None:
    sends = [await producer.send(topic, codec.encode_value(topic, e),
                                 key=codec.encode_key(topic, e.key)) for e in events]
    await asyncio.gather(*sends)


async def paced(producer: AIOKafkaProducer, codec: Codec, topics: dict[str, str], bootstrap: str,
                n_rules: int, rate: float, seconds: float, match: float) -> list[float]:
    """Publish at `rate` for `seconds`; milliseconds from publish to outcome, matched events."""
    rnd = random.Random(11)
    n = int(rate * seconds)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                              auto_offset_reset="latest")
    await reader.start()
    outcomes = topics["rule-outcomes"]
    parts = [TopicPartition(outcomes, p) for p in range(PARTITIONS)]
    reader.assign(parts)
    await reader.seek_to_end(*parts)
    for part in parts:
        await reader.position(part)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}

    async def collect() -> None:
        while True:
            for records in (await reader.getmany(timeout_ms=200, max_records=5000)).values():
                for record in records:
                    outcome = codec.decode_value(record.topic, record.value)
                    seen.setdefault(outcome.event_id, record.timestamp / 1000)  # type: ignore[attr-defined]

    collecting = asyncio.create_task(collect())
    began, sends = time.monotonic(), []
    topic = topics["triggers"]
    for k in range(n):
        await asyncio.sleep(max(0.0, began + k / rate - time.monotonic()))
        now = datetime.now(UTC)
        event = make_event(k, n_rules, match, rnd, now)
        event = event.model_copy(update={"id": f"paced-{k}"})
        if event.subject and event.subject.startswith("vip-"):
            sent[event.id] = now.timestamp()
        sends.append(await producer.send(topic, codec.encode_value(topic, event),
                                         key=codec.encode_key(topic, event.key)))
    await asyncio.gather(*sends)
    deadline = time.monotonic() + 60
    while not sent.keys() <= seen.keys() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    collecting.cancel()
    await asyncio.gather(collecting, return_exceptions=True)
    await reader.stop()
    return [(seen[i] - sent[i]) * 1000 for i in sent if i in seen]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def end_to_end(bootstrap: str, n_rules: int, n_events: int, rate: float, seconds: float,
                     match: float, workers: int = 1) -> list[str]:
    from infra.topics import create_topics_async, topic_names

    prefix = f"bt{uuid.uuid4().hex[:6]}."
    await create_topics_async(bootstrap, prefix, partitions=PARTITIONS, replication=replication())
    topics, codec = topic_names(prefix), Codec(prefix=prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                enable_idempotence=True, max_batch_size=512 * 1024)
    await producer.start()
    try:
        await publish_rules(producer, codec, topics["definitions"], make_rules(n_rules))
        rnd = random.Random(7)
        await produce(producer, codec, topics["triggers"],
                      (make_event(k, n_rules, match, rnd) for k in range(n_events)))
        spawn = multiprocessing.get_context("spawn")
        pipes = [spawn.Pipe() for _ in range(workers)]
        with tempfile.TemporaryDirectory(prefix="hw-bench-triggers-") as tmp:
            children = [spawn.Process(target=agent_main, args=(bootstrap, prefix, f"{tmp}/{i}", theirs))
                        for i, (_, theirs) in enumerate(pipes)]
            for child in children:
                child.start()
            for _, theirs in pipes:
                theirs.close()
            ours = [pipe for pipe, _ in pipes]
            try:
                lines = await _drive(ours, producer, codec, topics, bootstrap, prefix, n_rules,
                                     n_events, rate, seconds, match)
            finally:
                for pipe in ours:
                    with contextlib.suppress(OSError):
                        pipe.send("done")
                for child in children:
                    child.join(60)
                    if child.is_alive():
                        child.kill()
        return lines
    finally:
        await producer.stop()


async def _receive(pipe: Any, timeout_s: float, what: str) -> Any:
    if not await asyncio.get_running_loop().run_in_executor(None, pipe.poll, timeout_s):
        raise TimeoutError(what)
    return pipe.recv()


async def _drive(pipes: list[Any], producer: AIOKafkaProducer, codec: Codec,
                 topics: dict[str, str], bootstrap: str, prefix: str, n_rules: int,
                 n_events: int, rate: float, seconds: float, match: float) -> list[str]:
    for pipe in pipes:
        ready = await _receive(pipe, 300, "an agent process did not start")
        assert ready == ("ready", n_rules), ready
    # Every agent in the group, each owning its share, before any reads: a late joiner's
    # rebalance would otherwise be part of the figure.
    while True:
        owned = [await _receive(pipe, 120, "an agent was assigned no partition") for pipe in pipes]
        if sum(len(parts) for _, parts in owned) == PARTITIONS:
            break
        for pipe in pipes:  # assigned again after the next rebalance
            pipe.send("again")
    cpu = MachineCpu().start()
    began = time.time()
    for pipe in pipes:
        pipe.send("go")
    ended = await asyncio.wait_for(committed(
        bootstrap, f"{prefix}bench.triggers", topics["triggers"], n_events), 600)
    took = ended - began
    burst_rate = n_events / took
    lines = [f"burst  {n_rules:>5} rules, {len(pipes)} agent process(es): {burst_rate:>9,.0f} "
             f"triggers/s ({n_events:,} in {took:.2f} s, go to last commit; {cpu.idle()})"]
    pace = min(rate, burst_rate / 2)
    millis = await paced(producer, codec, topics, bootstrap, n_rules, pace, seconds, match)
    lines.append(f"paced  {n_rules:>5} rules: at {pace:,.0f}/s, publish-to-outcome "
                 f"p50 {percentile(millis, 0.5):6.1f} ms  p99 {percentile(millis, 0.99):6.1f} ms"
                 f"  ({len(millis)} matched)")
    return lines


async def baseline(bootstrap: str, records: int) -> list[str]:
    topic = f"bench.triggers.raw.{uuid.uuid4().hex[:6]}"
    await kafka_baseline.create(bootstrap, topic)
    figures = [await kafka_baseline.produce_each(bootstrap, topic, records, 256),
               await kafka_baseline.consume(bootstrap, topic, records, 256)]
    batched = f"bench.triggers.batch.{uuid.uuid4().hex[:6]}"
    await kafka_baseline.create(bootstrap, batched)
    figures.append(await kafka_baseline.produce_batched(bootstrap, batched, records, 256))
    return [figure.line() for figure in figures]


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="10,500,5000")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--match", type=float, default=0.01, help="share of matching events")
    parser.add_argument("--rate", type=float, default=5000.0, help="paced triggers per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="paced run length")
    parser.add_argument("--raw-records", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1,
                        help="trigger agent processes in one group (the burst is shared)")
    parser.add_argument("--cpu-only", action="store_true", help="no broker: the CPU figures")
    parser.add_argument("--profile", action="store_true", help="cProfile the CPU path")
    args = parser.parse_args()
    counts = [int(x) for x in args.rules.split(",")]
    print(f"machine: {machine()}")
    print(f"workload: Avro triggers, {args.match:.0%} match one rule, 1 start_workflow action")
    for n in counts:
        print(asyncio.run(cpu_rate(n, min(args.events, 40_000), args.match, args.profile)))
    if args.cpu_only:
        return
    with broker() as bootstrap:
        print(f"broker: {bootstrap} (Kafka, {nodes()} node(s), replication {replication()}, "
              f"{PARTITIONS} partitions, acks=all)")
        print("raw aiokafka reference, 256-byte records:")
        for line in asyncio.run(baseline(bootstrap, args.raw_records)):
            print(f"  {line}")
        for n in counts:
            for line in asyncio.run(end_to_end(bootstrap, n, args.events, args.rate,
                                               args.seconds, args.match, args.workers)):
                print(f"  {line}")


if __name__ == "__main__":
    del timedelta
    main()
