"""The trigger agent: `hw.triggers` in, rule outcomes and the actions' records out.

For each `getmany` batch of one partition, in offset order: decode the trigger (Avro, or a
structured or binary CloudEvent), evaluate the active rules and the workflows' event triggers,
produce the outcomes (`hw.rule-outcomes`, keyed by rule id) and the records the firings ask
for (`effects`), **wait for every ack**, store the partition's pattern state with its
checkpoint, **then** commit the offsets. Ids derive from the rule and the event, so a trigger
redelivered after a crash starts nothing twice. Undecodable or refused triggers become dead
letters and the batch goes on. The same agent fires absence and batch-window timers and, on
the worker that owns partition 0, the schedules (`streams.triggers.schedules`).

It is also where correlated events meet waiting executions (`streams.triggers.correlation`): a
`headwater.wait.*` record opens a subscription and goes no further (no rule sees it); every
other event first takes the subscriptions of its subject and produces their `EventReceived`
commands, then meets the rules as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.partitioner import murmur2
from pydantic import BaseModel

from rules import Evaluation, Firing, RuleEngine, Timer, to_outcomes
from schemas.codec import Codec, DecodeError
from schemas.waits import InvalidSubscription
from streams.runtime.dead_letters import DeadLetterSink, Record
from streams.runtime.outbox import Outbox
from streams.runtime.outgoing import Outgoing
from streams.runtime.registry import DefinitionsFeed
from streams.triggers.effects import (
    DEPTH_EXTENSION,
    MAX_DEPTH,
    Occasion,
    action_records,
    digest,
    occasion_of,
)
from streams.triggers.pattern_slots import PartitionSlots
from streams.triggers.rule_state import RuleStateStore
from streams.triggers.rulebook import Rulebook
from streams.triggers.waits import PartitionWaits

__all__ = ["Clock", "TriggerAgent"]

_NOTHING = Evaluation()

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock (the agent's default `Clock`)."""
    return datetime.now(UTC)


class _Refused(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


class TriggerAgent(ConsumerRebalanceListener):  # type: ignore[misc]
    """Consumes `hw.triggers` in a consumer group; one owner per partition at a time.

    Args:
        bootstrap: Kafka bootstrap servers.
        group: The consumer group id.
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        producer: A started producer (acks=all, idempotent).
        definitions: The definitions feed (must be running).
        dead_letters: Where refused records go.
        store: The local pattern-state store.
        clock: The wall clock, for timers and schedules (tests pass their own).
    """

    def __init__(self, bootstrap: str, group: str, topics: dict[str, str], codec: Codec,
                 producer: AIOKafkaProducer, definitions: DefinitionsFeed,
                 dead_letters: DeadLetterSink, store: RuleStateStore,
                 clock: Clock = utc_now) -> None:
        self._bootstrap, self._topics, self._codec = bootstrap, topics, codec
        self._producer, self._definitions, self._dead = producer, definitions, dead_letters
        self._store, self._clock = store, clock
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_interval_ms=300_000)
        self.book = Rulebook()
        self._slots = PartitionSlots(self.book, store)
        self._waits = PartitionWaits(store)
        self._lock = asyncio.Lock()
        self._hooks: list[Callable[[datetime], Any]] = []
        self.paused = False
        self._partitions: dict[str, int] = {}

    def _sync(self) -> None:
        registry = self._definitions.registry
        if self.book.sync(registry):
            self._waits.expect(registry.workflows())

    @property
    def owned(self) -> frozenset[int]:
        """The partitions of `hw.triggers` this agent owns now."""
        return frozenset(self._slots.partitions)

    def on_tick(self, hook: Callable[[datetime], Any]) -> None:
        """Call `await hook(now)` after each batch, under the agent's lock (schedules)."""
        self._hooks.append(hook)

    async def start(self) -> None:
        """Join the group (partitions come through the rebalance callbacks)."""
        self._sync()
        await self._consumer.start()
        self._consumer.subscribe([self._topics["triggers"]], listener=self)

    async def stop(self) -> None:
        """Leave the group (cancel `run` first; a batch cut short is redelivered)."""
        await self._consumer.stop()

    def pause(self, paused: bool) -> None:
        """Stop (or resume) taking triggers, keeping the group membership (backpressure)."""
        if paused != self.paused:
            self.paused = paused
            parts = self._consumer.assignment()
            (self._consumer.pause if paused else self._consumer.resume)(*parts)
            log.info("trigger intake %s", "paused" if paused else "resumed")

    async def run(self) -> None:
        """Process batches until cancelled."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=100, max_records=5000)
            async with self._lock:
                self._sync()
                owned = self._slots.partitions
                await self._process({tp: records for tp, records in batches.items()
                                     if records and tp.partition in owned})
                now = self._clock()
                await self._fire_timers(now)
                for hook in self._hooks:
                    await hook(now)

    # -- partition ownership ------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._lock:  # the batch in flight is produced, stored and committed first
            for tp in revoked:
                self._slots.drop(tp.partition)
                self._waits.drop(tp.partition)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        async with self._lock:
            self._sync()
            for tp in assigned:
                committed = await self._consumer.committed(tp) or 0
                # Subscriptions have no window: they are replayed from the checkpoint they
                # reflect (0 for an empty store), patterns from where `take` says.
                waits_from = self._store.checkpoint(tp.partition)
                start = await self._slots.take(tp.partition, committed, self._offset_at,
                                               self._clock())
                self._waits.load(tp.partition)
                patterns_from = committed if start is None else start
                if min(waits_from, patterns_from) < committed:
                    await self._replay(tp, min(waits_from, patterns_from), committed,
                                       patterns_from)
            if self.paused:
                self._consumer.pause(*assigned)
            log.info("trigger agent owns partitions %s", sorted(self._slots.partitions))

    async def _offset_at(self, partition: int, when: datetime) -> int:
        tp = TopicPartition(self._topics["triggers"], partition)
        found = await self._consumer.offsets_for_times({tp: int(when.timestamp() * 1000)})
        return found[tp].offset if found.get(tp) is not None else 1 << 62

    async def _replay(self, tp: TopicPartition, start: int, end: int, patterns_from: int) -> None:
        """Fold triggers another worker processed into the subscriptions and, from
        `patterns_from` on, the pattern state (no output)."""
        # "earliest": a start that retention has deleted reads from the oldest record kept,
        # instead of silently jumping to the end and replaying nothing.
        reader = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None,
                                  enable_auto_commit=False, auto_offset_reset="earliest")
        await reader.start()
        try:
            reader.assign([tp])
            reader.seek(tp, start)
            position = start
            while position < end:
                records = (await reader.getmany(tp, timeout_ms=1000, max_records=5000)).get(tp, [])
                for record in records:
                    if record.offset < end:
                        self._evaluate(record, replaying=True,
                                       patterns=record.offset >= patterns_from)
                position = await reader.position(tp)
            self._waits.save(tp.partition)
            self._slots.save(tp.partition, end)
            log.info("partition %d: pattern state replayed from %d to %d", tp.partition, start, end)
        finally:
            await reader.stop()

    # -- triggers -----------------------------------------------------------------------------

    async def _process(self, batches: dict[TopicPartition, list[Any]]) -> None:
        """One cycle for a poll's records of every owned partition: evaluate, produce, wait
        for every ack, store the pattern states, then commit (one round trip each)."""
        if not batches:
            return
        outgoing: list[tuple[str, bytes | None, bytes]] = []
        for tp, records in batches.items():
            done = self._slots.checkpoint(tp.partition)
            engine = self._slots.engine_for(tp.partition)
            for record in records:
                if record.offset < done:
                    continue  # stored before a crash that came before the commit: all acked
                routed: list[Outgoing] = []
                try:
                    outgoing += [self._encode(out) for out in self._evaluate(record, engine,
                                                                              routed=routed)]
                except _Refused as exc:
                    await self._dead.refuse(record, exc.reason, exc.message, "triggers")
                except Exception as exc:
                    # A rule whose rendered action makes no valid record (an empty event type,
                    # say) must not stall the partition by crashing the agent on every retry:
                    # the trigger goes to the dead letters with the reason, and the rest goes on.
                    log.error("trigger at %s:%s refused: %s", tp, record.offset, exc)
                    await self._dead.refuse(record, "invalid_action",
                                            f"{type(exc).__name__}: {exc}"[:1000], "triggers")
                    # Its subscriptions are closed: the waiting executions get it all the same.
                    outgoing += [self._encode(out) for out in routed]
        await self._produce(outgoing)
        ends = {tp: records[-1].offset + 1 for tp, records in batches.items()}
        for tp, end in ends.items():
            self._waits.save(tp.partition)
            self._slots.save(tp.partition, end)
        try:
            await self._consumer.commit(ends)
        except (CommitFailedError, IllegalStateError) as exc:
            log.info("commit of %s skipped: %s", sorted(ends), exc)  # the new owner replays them

    def _evaluate(self, record: Record, engine: RuleEngine | None = None,
                  replaying: bool = False, patterns: bool = True,
                  routed: list[Outgoing] | None = None) -> list[Outgoing]:
        """Decide what one trigger does; fold its subscriptions and pattern state; the
        records to produce (the commands to waiting executions first, also put in `routed`).
        """
        try:
            event, when = self._codec.decode_trigger_fields(
                record.topic, record.headers, record.value, partition=record.partition,
                offset=record.offset)
        except DecodeError as exc:
            if replaying:
                return []
            raise _Refused(exc.reason, exc.detail) from None
        depth = event.get(DEPTH_EXTENSION, 0)
        if isinstance(depth, int) and depth > MAX_DEPTH:
            if replaying:
                return []
            raise _Refused("publish_loop", f"{depth} rule-published events deep; a rule loop?")
        internal, out = self._correlate(record, event, replaying)
        if routed is not None:
            routed += out
        if internal or not patterns:
            return out  # a wait record goes no further; the rules never see it
        now = when or datetime.fromtimestamp(record.timestamp / 1000, UTC)
        if engine is None:
            engine = self._slots.engine_for(record.partition)
        started = time.perf_counter_ns()
        evaluation = engine.decide(event, now)
        elapsed = (time.perf_counter_ns() - started) // 1000
        if evaluation != _NOTHING:
            self._slots.apply(record.partition, evaluation, counters=not replaying)
        if replaying:
            return []
        started_by = self.book.triggers.decide(event, now)
        if evaluation == _NOTHING and started_by == _NOTHING:
            return out  # most triggers: no rule is even a candidate
        out += self._outcomes(evaluation, event, elapsed)
        for firing in evaluation.fired:
            out += action_records(occasion_of(firing.rule_id, event, now), firing.actions)
        for firing in started_by.fired:
            out += action_records(occasion_of(firing.rule_id, event, now, "event"),
                                  firing.actions)
        return out

    def _correlate(self, record: Record, event: dict[str, Any],
                   replaying: bool) -> tuple[bool, list[Outgoing]]:
        """Open the subscription of a wait record (True: the record is internal), or route
        an event to its subscriptions; the commands to produce.

        Time is the record's (the broker's), not the event's own `time`, which a producer
        sets: it is the resumed execution's clock and decides whether a wait has expired.
        """
        routed = self._waits.route(record.partition, event, record.timestamp)
        if routed is not None:
            return False, [] if replaying else routed
        try:
            at = datetime.fromtimestamp(record.timestamp / 1000, UTC)
            resumed = self._waits.open(record.partition, event, at)
        except InvalidSubscription as exc:
            if not replaying:
                raise _Refused("invalid_wait", str(exc)) from None
            return True, []
        return True, [] if replaying else resumed

    def _outcomes(self, evaluation: Evaluation, event: dict[str, Any],
                  elapsed_us: int) -> list[Outgoing]:
        if not (evaluation.fired or evaluation.skipped or evaluation.failed or evaluation.deferred):
            return []
        return [Outgoing("rule-outcomes", o.rule_id, o)
                for o in to_outcomes(evaluation, event, self._clock(), elapsed_us)]

    def _encode(self, out: Outgoing) -> tuple[str, bytes | None, bytes]:
        topic = self._topics[out.role]
        return topic, self._codec.encode_key(topic, out.key or None), self._codec.encode_value(topic, out.value)

    async def _produce(self, outgoing: list[tuple[str, bytes | None, bytes]]) -> None:
        """Produce encoded records in per-partition batches; wait until every one is acknowledged.

        Keyed records go where the producer's default partitioner would put them (murmur2 of
        the encoded key), so the processor finds a start on its execution's partition.
        """
        if not outgoing:
            return
        outbox = Outbox(self._producer)
        for topic, key, value in outgoing:
            if key is None:
                await outbox.send(topic, key, value)
            else:
                count = self._partitions.get(topic) or await self._count_partitions(topic)
                await outbox.append(topic, (murmur2(key) & 0x7FFFFFFF) % count, key, value)
        await outbox.flush()

    async def _count_partitions(self, topic: str) -> int:
        count = self._partitions[topic] = len(await self._producer.partitions_for(topic))
        return count

    async def _send(self, out: Outgoing) -> asyncio.Future[Any]:
        return await self.send(out.role, out.key or None, out.value)

    async def send(self, role: str, key: str | None, value: BaseModel) -> asyncio.Future[Any]:
        """Start producing one record; the future resolves when the broker acks it."""
        topic = self._topics[role]
        future: asyncio.Future[Any] = await self._producer.send(
            topic, self._codec.encode_value(topic, value), key=self._codec.encode_key(topic, key))
        return future

    async def complete(self, rule_id: str) -> None:
        """An execution a rule started has ended: free its slot, start the oldest queued one."""
        async with self._lock:
            now = self._clock()
            evaluation = self.book.rules.complete(rule_id, now)
            self.book.rules.apply(Evaluation(changes=evaluation.changes))
            sends = [await self._send(out) for firing in evaluation.fired
                     for out in action_records(occasion_of(rule_id, firing.events[-1], now),
                                               firing.actions)]
            if sends:
                await asyncio.gather(*sends)

    # -- timers -------------------------------------------------------------------------------

    async def _fire_timers(self, now: datetime) -> None:
        for partition in list(self._slots.partitions):
            due = self._slots.due(partition, now)
            if due:
                await self._fire(partition, due)

    async def _fire(self, partition: int, due: Iterable[Timer]) -> None:
        engine = self._slots.engine_for(partition)
        sends: list[asyncio.Future[Any]] = []
        for timer in due:
            evaluation = engine.on_timer(timer, timer.due)
            self._slots.apply(partition, evaluation)
            synthetic = {"id": f"{timer.key}@{timer.due.isoformat()}",
                         "source": "headwater/timers", "type": "headwater.timer.fired"}
            for out in self._outcomes(evaluation, synthetic, 0):
                sends.append(await self._send(out))
            for firing in evaluation.fired:
                for out in action_records(_timer_occasion(firing, timer), firing.actions):
                    sends.append(await self._send(out))
        if sends:
            await asyncio.gather(*sends)
        self._slots.save(partition, None)


def _timer_occasion(firing: Firing, timer: Timer) -> Occasion:
    event = firing.events[-1] if firing.events else None
    return Occasion(firing.rule_id, digest("timer", timer.key, timer.due.isoformat()),
                    timer.due, event)
