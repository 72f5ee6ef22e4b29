"""The one partition loop: poll, process, produce, wait for acks, store with checkpoint, commit.

Every part of the engine that consumes a topic in a consumer group (the execution processor,
the trigger agent, the task worker, the completions reader) is a `Handler` run by a
`PartitionLoop`; the loop owns the consumer and its settings, the rebalance listener and its
lock, the replay on assignment, the clock, the outbox and its acks, the order of store and
commit, what a refused commit means, and dead letters. A handler only decides.

The cycle, in the order `_cycle` follows and for these reasons:

1. **Process** each polled record of an owned partition, in offset order. A record whose
   handling raises becomes a dead letter (with the exception, the record's topic, partition
   and offset, and the handler's name) and whatever it had staged is withdrawn: one poison
   record never stops the partition, and never produces half its effects. Before it, the
   loop's crash note names the cycle's offsets (one small write, no fsync), so a record that
   kills the process itself is found after the restarts and set aside as a dead letter
   ``crashed_worker`` instead of killing the worker for ever (`streams.runtime.quarantine`).
2. **Tick** the handler with the loop's clock: timers, schedules and answers of work that
   finished meanwhile go through the same outbox, so they get the same guarantees.
3. **Produce and wait for every ack.** Nothing below may happen for records the broker does not
   have: a stored checkpoint or a commit ahead of the log would lose them in a crash. A flush
   that fails stops the loop (the part exits and is restarted; nothing was stored or
   committed, so the records are processed again, deriving the same ids).
4. **Store** the handler's state with each partition's checkpoint (the handler writes both in
   one atomic batch). After a crash between 3 and 4 the handler replays from its older
   checkpoint and finds the produced records on the log; stored before 5 so that a crash
   between 4 and 5 redelivers records the handler knows it has done.
5. **Commit** the consumed offsets, but never past the lowest offset a handler still holds
   (work running across cycles, such as a slow HTTP call). A commit refused because the
   group moved on (after a rebalance) is not fatal: the new owner processes those records
   again and their ids make them no-ops. Not every cycle commits: a loop commits when a poll
   finds nothing new (it has caught up), when `commit_interval_ms` has passed since its last
   commit while records keep coming, and always on revocation and stop. What a commit covers
   was acked and stored by earlier cycles, so the order above holds for every record; a
   crash redelivers at most an interval's records, which are no-ops. Committing every cycle
   cost a request and a wait for it per cycle: at light load the next record waited behind
   it, and the commits were a third of the engine's requests to the broker.

The rebalance callbacks take the loop's lock, so a partition is revoked only between cycles:
what was processed for it is produced, stored and committed before another worker replays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from streams.runtime.config import LoopConfig
from streams.runtime.dead_letters import DeadLetters, RateLimitedLog
from streams.runtime.faults import CrashOn, crashing
from streams.runtime.handler import Checkpoint, Handler, Refused, Replay
from streams.runtime.leave import leave_as_static_member
from streams.runtime.membership import fit_to_broker
from streams.runtime.out import Out
from streams.runtime.outbox import Outbox
from streams.runtime.quarantine import CRASHED_WORKER, CrashNotes, Quarantine
from streams.runtime.topics import TopicTable

__all__ = ["Clock", "PartitionLoop", "utc_now"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock (every loop's default `Clock`; tests pass their own)."""
    return datetime.now(UTC)


class PartitionLoop(ConsumerRebalanceListener):  # type: ignore[misc]
    """Runs one handler over one topic in a consumer group (see the module docstring).

    Args:
        handler: What decides.
        bootstrap: Kafka bootstrap servers.
        group: The consumer group id.
        topic: The topic to consume.
        producer: The engine's started producer (`LoopConfig.producer`).
        table: Partition counts and size limits of every topic produced to.
        dead_letters: How dead letters are made.
        clock: The wall clock, for ticks and dead letters.
        config: Poll and replay settings.
        quarantine: Where the crash note lives and how many deaths set a record aside (None:
            no note, a record that kills the process is read again after every restart).
        faults: Injected crashes (tests and drills; `streams.runtime.faults`).
    """

    def __init__(self, handler: Handler, *, bootstrap: str, group: str, topic: str,
                 producer: AIOKafkaProducer, table: TopicTable, dead_letters: DeadLetters,
                 clock: Clock = utc_now, config: LoopConfig | None = None,
                 quarantine: Quarantine | None = None, faults: Sequence[CrashOn] = ()) -> None:
        self.handler, self.topic, self._group = handler, topic, group
        self._bootstrap, self._producer, self._table = bootstrap, producer, table
        self._dead, self._clock = dead_letters, clock
        self._config = config or LoopConfig()
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._consumed: dict[int, int] = {}  # partition -> next offset processed
        self._committed: dict[int, int] = {}  # partition -> offset last committed
        self._commit_due = 0.0  # time.monotonic() from which records processed force a commit
        self.paused = False
        self.ticked: datetime | None = None  # the clock of the last cycle completed
        self._errors = RateLimitedLog(log, "handler errors", burst=5)
        self._quarantine = quarantine
        self._notes: CrashNotes | None = None  # opened by `start`
        self._process = crashing(handler.name, handler.process, faults)

    @property
    def owned(self) -> frozenset[int]:
        """The partitions this loop owns now."""
        return frozenset(self._committed)

    async def start(self) -> None:
        """Join the group (partitions come through the rebalance callbacks)."""
        self._config = await fit_to_broker(self._config, self._bootstrap)
        if self._quarantine is not None and self._notes is None:
            self._notes = self._quarantine.open(self._group, self.topic, self.handler.name)
        self._consumer = AIOKafkaConsumer(**self._config.consumer(self._bootstrap, self._group))
        await self._consumer.start()
        self._consumer.subscribe([self.topic], listener=self)

    async def stop(self) -> None:
        """Commit what is stored and leave the group (cancel `run` first: it lets the cycle under
        way finish for `stop_grace_s`; a cycle cut short is redelivered)."""
        if self._consumer is not None:
            with contextlib.suppress(Exception):  # best effort: redelivery is harmless
                async with self._lock:
                    await asyncio.wait_for(self._commit(), timeout=5)
            instance = self._config.group_instance_id
            if instance is not None:  # a static member leaves only when asked (KIP-345)
                await leave_as_static_member(self._consumer, self._group, instance)
            await self._consumer.stop()
        if self._notes is not None:
            self._notes.close()
            self._notes = None

    def pause(self, paused: bool) -> None:
        """Stop (or resume) polling, keeping the group membership (backpressure)."""
        if paused != self.paused and self._consumer is not None:
            self.paused = paused
            parts = self._consumer.assignment()
            (self._consumer.pause if paused else self._consumer.resume)(*parts)
            log.info("%s intake %s", self.handler.name, "paused" if paused else "resumed")

    async def run(self) -> None:
        """Run cycles until cancelled."""
        assert self._consumer is not None, "start() first"
        config = self._config
        while True:
            polled = await self._consumer.getmany(timeout_ms=config.poll_timeout_ms,
                                                  max_records=config.max_records)
            cycle = asyncio.ensure_future(self._locked_cycle(polled))
            try:
                await asyncio.shield(cycle)
            except asyncio.CancelledError:
                # A stop lets the cycle under way finish: cut short between its acks and its
                # store, a clean stop would leave the stores behind the log.
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(cycle, timeout=config.stop_grace_s)
                raise

    async def _locked_cycle(self, polled: dict[TopicPartition, list[Any]]) -> None:
        async with self._lock:
            owned = self._committed
            await self._cycle({tp.partition: records for tp, records in polled.items()
                               if records and tp.partition in owned})

    # -- the cycle --------------------------------------------------------------------------------

    async def _cycle(self, polled: dict[int, list[Any]]) -> None:
        """One cycle; the numbers are the module docstring's."""
        handler, now, notes = self.handler, self._clock(), self._notes
        out = Out(self._table, self._dead, handler.name, now)
        await self._process_all(polled, out)  # 1. process
        mark = out.mark()
        try:  # 2. tick
            await handler.tick(now, out)
        except Exception:
            out.rollback(mark)
            log.exception("%s: tick failed (its records are withdrawn; next cycle again)",
                          handler.name)
        if out.intake_paused is not None:
            self.pause(out.intake_paused)
        outbox = Outbox(self._producer)
        written = await out.flush(outbox) if len(out) else {}  # 3. acks
        checkpoints = {partition: Checkpoint(records[-1].offset + 1, {
            where: end for where, end in written.items() if where[1] == partition}, {
            where: first for where, first in outbox.began.items() if where[1] == partition})
            for partition, records in polled.items()}
        handler.store(checkpoints)  # 4. store with checkpoint (tick changes too)
        for partition, checkpoint in checkpoints.items():
            self._consumed[partition] = checkpoint.consumed
        if notes is not None and checkpoints:
            notes.stored({p: c.consumed for p, c in checkpoints.items()})
        if not polled or time.monotonic() >= self._commit_due:  # 5. caught up, or due
            await self._commit()
        self.ticked = now

    async def _process_all(self, polled: dict[int, list[Any]], out: Out) -> None:
        """Step 1 of the cycle: every record, in offset order, each one's failure its own."""
        notes = self._notes
        if notes is not None:  # the offsets in flight, in case the process dies in this cycle
            if polled:
                notes.begin(polled)
            else:
                notes.idle()
        for partition, records in polled.items():
            # Where the process died, the note names each record while the handler holds it,
            # and a record that killed the process too often is set aside.
            careful = notes if notes is not None and notes.careful(partition) else None
            for record in records:
                if careful is not None and (aside := careful.enter(record)) is not None:
                    if aside:  # "" when it has its dead letter already (a redelivery)
                        out.dead(record, CRASHED_WORKER, aside)
                    continue
                mark = out.mark()
                try:
                    await self._process(record, out)
                except Exception as exc:  # any failure is this record's
                    out.rollback(mark)
                    self._poison(out, record, exc)
            if careful is not None:
                careful.leave(partition)

    def _poison(self, out: Out, record: Any, exc: Exception) -> None:
        if isinstance(exc, Refused):
            out.dead(record, exc.reason, exc.message)
            return
        self._errors.log(logging.ERROR, "%s: %s[%d]@%d raised; dead-lettered, the partition "
                         "goes on", self.handler.name, record.topic, record.partition,
                         record.offset, exc_info=exc)
        out.dead(record, "handler_error", f"{type(exc).__name__}: {exc}"[:2000])

    async def _commit(self, partitions: set[int] | None = None) -> None:
        """Commit what is stored (of `partitions`, or of every owned one)."""
        offsets: dict[TopicPartition, int] = {}
        for partition, committed in self._committed.items():
            if partitions is not None and partition not in partitions:
                continue
            consumed = self._consumed.get(partition, committed)
            held = self.handler.holding(partition)
            target = consumed if held is None else min(consumed, held)
            if target > committed:
                offsets[TopicPartition(self.topic, partition)] = target
        if not offsets:
            return
        assert self._consumer is not None
        if partitions is None:
            self._commit_due = time.monotonic() + self._config.commit_interval_ms / 1000
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The partitions moved on: their new owner reads these records again and, finding
            # their effects (same ids) on the log, applies none of them twice.
            log.info("%s: commit of %s skipped: %s", self.handler.name,
                     sorted(tp.partition for tp in offsets), exc)
            return
        for tp, offset in offsets.items():
            if tp.partition in self._committed:
                self._committed[tp.partition] = offset
        if self._notes is not None:
            self._notes.committed((tp.partition, offset) for tp, offset in offsets.items())

    async def offset_at(self, partition: int, when: datetime) -> int:
        """The first offset of `partition` written at or after `when` (far ahead: none yet)."""
        assert self._consumer is not None
        tp = TopicPartition(self.topic, partition)
        found = await self._consumer.offsets_for_times({tp: int(when.timestamp() * 1000)})
        return found[tp].offset if found.get(tp) is not None else 1 << 62

    async def end_offset(self, partition: int) -> int:
        """The offset the next record of `partition` will get (its end now)."""
        assert self._consumer is not None
        tp = TopicPartition(self.topic, partition)
        return int((await self._consumer.end_offsets([tp]))[tp])

    # -- partition ownership ----------------------------------------------------------------------

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._lock:  # the cycle in flight is produced, stored and committed first
            # Commits wait for an interval: what is stored for these goes now, so their next
            # owner does not process it again.
            try:
                await self._commit({tp.partition for tp in revoked})
            except Exception as exc:  # the revocation must go on; redelivery is harmless
                log.info("%s: commit on revocation failed: %s", self.handler.name, exc)
            for tp in revoked:
                self._committed.pop(tp.partition, None)
                self._consumed.pop(tp.partition, None)
                self.handler.revoked(tp.partition)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        assert self._consumer is not None
        async with self._lock:
            for tp in assigned:
                committed = await self._consumer.committed(tp) or 0
                if self._notes is not None:
                    self._notes.assigned(tp.partition, committed)
                replay = await self.handler.assigned(tp.partition, committed)
                if replay is not None:
                    await self._replay(tp.partition, replay)
                self._committed[tp.partition] = committed
                self._consumed[tp.partition] = committed
            if self.paused:
                self._consumer.pause(*assigned)
            log.info("%s owns partitions %s", self.handler.name, sorted(self._committed))

    async def _replay(self, partition: int, replay: Replay) -> None:
        """Fold `replay`'s records into the handler; nothing but dead letters is produced."""
        tp = TopicPartition(replay.topic, partition)
        reader = AIOKafkaConsumer(**self._config.consumer(self._bootstrap, None))
        await reader.start()
        try:
            reader.assign([tp])
            end = replay.end if replay.end is not None else (await reader.end_offsets([tp]))[tp]
            reader.seek(tp, replay.start)
            position, folded, began = replay.start, 0, time.monotonic()
            while position < end:
                out = Out(self._table, self._dead, f"{self.handler.name}.catch_up", self._clock())
                polled = await reader.getmany(tp, timeout_ms=1000,
                                              max_records=self._config.replay_chunk)
                for record in polled.get(tp, []):
                    if record.offset >= end:
                        break
                    try:
                        self.handler.replay(record)
                        folded += 1
                    except Exception as exc:  # the record's, as in process
                        self._poison(out, record, exc)
                if len(out):
                    await out.flush(Outbox(self._producer))
                position = min(await reader.position(tp), end)
                self.handler.replayed(partition, position)
            if folded:
                log.info("%s: partition %d replayed %s from %d to %d (%d records in %.2f s)",
                         self.handler.name, partition, replay.topic, replay.start, end, folded,
                         time.monotonic() - began)
        finally:
            await reader.stop()
