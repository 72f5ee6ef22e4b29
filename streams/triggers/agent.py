"""The trigger agent: `hw.triggers` in, rule outcomes and the actions' records out.

A handler on the partition loop (`streams.runtime.loop`, which owns the cycle: produce, wait for
every ack, store with checkpoint, commit). Per trigger, in offset order: decode it (Avro, or a
structured or binary CloudEvent), evaluate the active rules and the workflows' event triggers,
and stage the outcomes (`hw.rule-outcomes`, keyed by rule id) and the records the firings ask
for (`effects`). `store` writes the partition's pattern state and subscriptions with its
checkpoint. Ids derive from the rule and the event, so a trigger redelivered after a crash
starts nothing twice. Undecodable or refused triggers become dead letters and the batch goes on.

It is also where correlated events meet waiting executions (`streams.triggers.correlation`): a
`headwater.wait.*` record opens a subscription and goes no further (no rule sees it); every
other event first takes the subscriptions of its subject and stages their `EventReceived`
commands, then meets the rules.

Gated rules (a `max_executions`, a `concurrency_limit`, `batch` mode) are decided by one owner,
whatever partition their events came in on: their matches leave as `headwater.rule.firing`
records keyed by the rule's gate key, and the agent that owns that key's partition counts,
queues, gathers and fires them (`streams.triggers.gate_owner`); the ends of their executions
come back the same way (`Completions`).

`replay` folds a trigger into the subscriptions, pattern state and rule gates and produces
nothing; `process` decides and stages; `tick` fires absence timers, asks for due batch
flushes, asks for backpressure, and, on the worker that owns partition 0, fires the schedules
(`streams.triggers.schedules`). All of it leaves through the loop's one outbox.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from rules import Evaluation, Firing, RuleEngine, Timer, to_outcomes
from schemas.codec import Codec, DecodeError
from schemas.outcomes import RuleMatched, RuleOutcome
from schemas.waits import InvalidSubscription
from streams.runtime import (
    Checkpoint,
    Clock,
    DefinitionsFeed,
    Out,
    Outgoing,
    Record,
    Refused,
    Replay,
    TooLarge,
)
from streams.triggers.effects import (
    DEPTH_EXTENSION,
    MAX_DEPTH,
    Occasion,
    action_records,
    action_ref,
    digest,
    occasion_of,
)
from streams.triggers.gate_owner import Made, PartitionGates, request_records
from streams.triggers.gate_records import GATE_PREFIX, InvalidGateRecord, parse
from streams.triggers.limits import Backpressure
from streams.triggers.pattern_slots import OffsetAt, PartitionSlots
from streams.triggers.rule_state import RuleStateStore
from streams.triggers.rulebook import Rulebook
from streams.triggers.schedules import Scheduler
from streams.triggers.waits import PartitionWaits

__all__ = ["TriggerAgent"]

_NOTHING = Evaluation()
EndAt = Callable[[int], Awaitable[int]]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

log = logging.getLogger(__name__)


class TriggerAgent:
    """The handler of `hw.triggers` (one owner per partition at a time).

    Args:
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        definitions: The definitions feed (must be running).
        store: The local pattern-state store.
        clock: The wall clock (the loop's), for the replay window on assignment.
        offset_at: The first `hw.triggers` offset of a partition at or after a time (to replay
            no further back than the longest pattern window).
        book: The rules (shared with `Completions`, which reads their limits).
        end_at: The end offset of a partition now (a rule gate rebuilt from a snapshot must
            read up to it before it decides; None: the committed offset).
        backpressure: When to stop taking triggers (None: never).
    """

    name = "triggers"

    def __init__(self, topics: dict[str, str], codec: Codec, definitions: DefinitionsFeed,
                 store: RuleStateStore, clock: Clock, offset_at: OffsetAt,
                 book: Rulebook | None = None, end_at: EndAt | None = None,
                 backpressure: Backpressure | None = None) -> None:
        self._topics, self._codec, self._definitions = topics, codec, definitions
        self._store, self._clock, self._offset_at = store, clock, offset_at
        self.book = book if book is not None else Rulebook()
        self.book.rules.routed = True  # gated rules are decided by their gate's owner
        self._slots = PartitionSlots(self.book, store)
        self._waits = PartitionWaits(store)
        self._gates = PartitionGates(store)
        self._scheduler = Scheduler(self.book, store)
        self._backpressure, self._end_at = backpressure, end_at
        self._patterns_from: dict[int, int] = {}  # replay: pattern state folds from here
        self.sync()

    def sync(self) -> None:
        """Catch up with the definitions registry (rules, triggers, schedules, waits)."""
        registry = self._definitions.registry
        if self.book.sync(registry):
            self._waits.expect(registry.workflows())
            self._slots.retain()  # a removed rule's partial matches go with it

    @property
    def owned(self) -> frozenset[int]:
        """The partitions of `hw.triggers` this agent holds now."""
        return frozenset(self._slots.partitions)

    # -- partition ownership ------------------------------------------------------------------

    async def assigned(self, partition: int, committed: int) -> Replay | None:
        """Load the partition's state; replay what the store does not reflect yet.

        Subscriptions have no window: they are replayed from the checkpoint they reflect (0
        for an empty store); patterns from where `PartitionSlots.take` says.
        """
        self.sync()
        waits_from = self._store.checkpoint(partition)
        start = await self._slots.take(partition, committed, self._offset_at, self._clock())
        self._waits.load(partition)
        # The first offset still on the broker (an empty partition has none: nothing is gone).
        log_start = min(await self._offset_at(partition, _EPOCH), committed)
        end = await self._end_at(partition) if self._end_at is not None else committed
        gates_from = self._gates.load(partition, log_start, committed, end)
        patterns_from = self._patterns_from[partition] = committed if start is None else start
        begin = min(waits_from, patterns_from, gates_from)
        return Replay(self._topics["triggers"], begin, committed) if begin < committed else None

    def replay(self, record: Record) -> None:
        """Fold a trigger another worker processed into the subscriptions and, from
        `patterns_from` on, the pattern state (limits are not counted again)."""
        try:
            event, when = self._decode(record)
        except Refused:
            return  # it was refused when it was processed
        partition = record.partition
        if _is_gate_record(event):
            if self._gates.applies(partition, record.offset):
                with contextlib.suppress(InvalidGateRecord):  # refused when processed
                    self._gates.replay(partition, record.offset, parse(event))
            return
        if self._waits.route(partition, event, record.timestamp) is None:
            with contextlib.suppress(InvalidSubscription):  # it was refused when processed
                self._waits.open(partition, event, _at(record))
            return
        if record.offset < self._patterns_from.get(partition, 0):
            return
        evaluation = self._slots.engine_for(partition).decide(event, when or _at(record))
        if evaluation != _NOTHING:
            self._slots.apply(partition, evaluation, counters=False)

    def replayed(self, partition: int, position: int) -> None:
        self._waits.save(partition)
        self._gates.save(partition, position)
        self._slots.save(partition, position)

    def revoked(self, partition: int) -> None:
        self._slots.drop(partition)
        self._waits.drop(partition)
        self._gates.drop(partition)
        self._patterns_from.pop(partition, None)

    def holding(self, partition: int) -> int | None:
        return None  # every trigger is done within its cycle

    # -- triggers -----------------------------------------------------------------------------

    async def process(self, record: Record, out: Out) -> None:
        """Route one trigger to its subscriptions, then decide what the rules do with it."""
        self.sync()  # a rule published a moment ago meets this trigger (one comparison if not)
        partition = record.partition
        if record.offset < self._slots.checkpoint(partition):
            return  # stored before a crash that came before the commit: all acknowledged
        event, when = self._decode(record)
        if _is_gate_record(event):
            self._gate(record, event, out)
            self._gates.passed(partition, record.offset)
            return
        self._gates.passed(partition, record.offset)
        routed = self._waits.route(partition, event, record.timestamp)
        if routed is None:  # a wait record: it opens a subscription, no rule sees it
            try:
                resumed = self._waits.open(partition, event, _at(record))
            except InvalidSubscription as exc:
                raise Refused("invalid_wait", str(exc)) from None
            self._put_all(out, resumed)
            return
        # The subscriptions are closed now: the waiting executions get the event even when a
        # rule's action below cannot be produced.
        self._put_all(out, routed)
        mark = out.mark()
        try:
            self._rules(partition, record.offset, event, when or _at(record), out)
        except Refused as exc:
            out.rollback(mark)
            out.dead(record, exc.reason, exc.message)
        except Exception as exc:  # a rule's action that makes no valid record
            out.rollback(mark)
            out.dead(record, "invalid_action", f"{type(exc).__name__}: {exc}"[:1000])

    def _rules(self, partition: int, offset: int, event: dict[str, Any], now: datetime,
               out: Out) -> None:
        engine = self._slots.engine_for(partition)
        started = time.perf_counter_ns()
        evaluation = engine.decide(event, now)
        elapsed = (time.perf_counter_ns() - started) // 1000
        started_by = self.book.triggers.decide(event, now)
        if evaluation == _NOTHING and started_by == _NOTHING:
            return  # most triggers: no rule is even a candidate
        occasions = {f.rule_id: occasion_of(f.rule_id, event, now) for f in evaluation.fired}
        records = self._outcomes(evaluation, event, elapsed, out.now, engine, occasions)
        if evaluation.routed:
            tag = digest(str(event.get("source", "")), str(event.get("id", "")))
            records += request_records(engine, evaluation.routed, tag, now, event,
                                       (partition, offset))
        for firing in evaluation.fired:
            records += action_records(occasions[firing.rule_id], firing.actions)
        for firing in started_by.fired:
            records += action_records(occasion_of(firing.rule_id, event, now, "event"),
                                      firing.actions)
        self._put_all(out, records)
        # Folded only once every record is staged: a refused trigger leaves no partial match.
        if evaluation != _NOTHING:
            self._slots.apply(partition, evaluation)

    def _gate(self, record: Record, event: dict[str, Any], out: Out) -> None:
        """A gate record for a gate this partition holds: count, queue, gather, fire."""
        if not self._gates.applies(record.partition, record.offset):
            return  # stored before a crash that came before the commit
        try:
            parsed = parse(event)
        except InvalidGateRecord as exc:
            raise Refused("invalid_gate_record", str(exc)) from None
        made: Made = self._gates.process(record.partition, record.offset, parsed,
                                         self.book.rules)
        evaluation, reported, occasions, records = made
        outcomes = self._outcomes(evaluation, reported, 0, out.now, self.book.rules, occasions)
        self._put_all(out, [*outcomes, *records])

    def _decode(self, record: Record) -> tuple[dict[str, Any], datetime | None]:
        """The trigger's event and its own time.

        Raises:
            Refused: It does not decode, or it is too many rule-published events deep.
        """
        try:
            event, when = self._codec.decode_trigger_fields(
                record.topic, record.headers, record.value, partition=record.partition,
                offset=record.offset)
        except DecodeError as exc:
            raise Refused(exc.reason, exc.detail) from None
        depth = event.get(DEPTH_EXTENSION, 0)
        if isinstance(depth, int) and depth > MAX_DEPTH:
            raise Refused("publish_loop", f"{depth} rule-published events deep; a rule loop?")
        return event, when

    def _outcomes(self, evaluation: Evaluation, event: Mapping[str, Any], elapsed_us: int,
                  now: datetime, engine: RuleEngine | None = None,
                  occasions: Mapping[str, Occasion] | None = None) -> list[Outgoing]:
        if not (evaluation.fired or evaluation.skipped or evaluation.failed or evaluation.deferred):
            return []
        explain = engine.explain if engine is not None else None  # firings keep their tree
        outcomes = to_outcomes(evaluation, event, now, elapsed_us, explain=explain)
        return [Outgoing("rule-outcomes", o.rule_id, _with_refs(o, occasions or {}))
                for o in outcomes]

    def _put_all(self, out: Out, records: list[Outgoing]) -> None:
        codec, topics = self._codec, self._topics
        for record in records:
            topic = topics[record.role]
            # Keyed records go where the default partitioner puts them (the processor finds a
            # start on its execution's partition); unkeyed ones where the producer chooses.
            out.put(topic, codec.encode_key(topic, record.key or None),
                    codec.encode_value(topic, record.value))

    def store(self, checkpoints: Mapping[int, Checkpoint]) -> None:
        """Write the subscriptions, pattern state and schedule cursors the cycle changed."""
        for partition in self._slots.partitions:
            checkpoint = checkpoints.get(partition)
            if checkpoint is not None:
                self._waits.save(partition)
                self._gates.save(partition, checkpoint.consumed)
            self._slots.save(partition, checkpoint.consumed if checkpoint else None)
        self._scheduler.save()

    # -- the clock ----------------------------------------------------------------------------

    async def tick(self, now: datetime, out: Out) -> None:
        """Fire due pattern timers, ask for due batch flushes, fire due schedules, and ask for
        backpressure; everything through `out`."""
        self.sync()
        for partition in self._slots.partitions:
            due = self._slots.due(partition, now)
            if due:
                self._fire(partition, due, out)
        self._gates.settle()
        self._put_all(out, self._gates.due(now))
        for snapshot in self._gates.snapshots(now):
            try:
                self._put_all(out, [snapshot])
            except TooLarge as exc:  # a queue or batch of many events: kept in the store only
                log.warning("rule gate %s is too large to snapshot (%s)", snapshot.key, exc)
        if 0 in self._slots.partitions:
            self._scheduler.tick(now, lambda record: self._put_all(out, [record]))
        else:
            self._scheduler.release()  # another worker has the duty; read the store when back
        if self._backpressure is not None:
            paused = await self._backpressure.check(now)
            if paused is not None:
                out.pause_intake(paused)

    def _fire(self, partition: int, due: list[Timer], out: Out) -> None:
        engine = self._slots.engine_for(partition)
        for timer in due:
            evaluation = engine.on_timer(timer, timer.due)
            synthetic = {"id": f"{timer.key}@{timer.due.isoformat()}",
                         "source": "headwater/timers", "type": "headwater.timer.fired"}
            occasions = {f.rule_id: _timer_occasion(f, timer) for f in evaluation.fired}
            records = self._outcomes(evaluation, synthetic, 0, out.now, occasions=occasions)
            if evaluation.routed:
                tag = digest("timer", timer.key, timer.due.isoformat())
                records += request_records(engine, evaluation.routed, tag, timer.due, synthetic)
            for firing in evaluation.fired:
                records += action_records(occasions[firing.rule_id], firing.actions)
            self._put_all(out, records)
            self._slots.apply(partition, evaluation)


def _with_refs(outcome: RuleOutcome, occasions: Mapping[str, Occasion]) -> RuleOutcome:
    """A firing's outcome names what each action produced, so the views can join its end."""
    occasion = occasions.get(outcome.rule_id)
    if occasion is None or not isinstance(outcome, RuleMatched) or not outcome.actions:
        return outcome
    actions = tuple(a.model_copy(update={"ref": action_ref(occasion, a.action_type, a.index)})
                    for a in outcome.actions)
    return outcome.model_copy(update={"actions": actions})


def _is_gate_record(event: Mapping[str, Any]) -> bool:
    kind = event.get("type")
    return isinstance(kind, str) and kind.startswith(GATE_PREFIX)


def _at(record: Record) -> datetime:
    """The record's (the broker's) time: a waiting execution's clock, not the event's own."""
    return datetime.fromtimestamp(record.timestamp / 1000, UTC)


def _timer_occasion(firing: Firing, timer: Timer) -> Occasion:
    event = firing.events[-1] if firing.events else None
    return Occasion(firing.rule_id, digest("timer", timer.key, timer.due.isoformat()),
                    timer.due, event)

