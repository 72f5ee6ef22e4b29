"""The projector: the shell that feeds the log to the folds and commits views with offsets.

It reads ``executions``, ``rule-outcomes``, ``definitions`` and ``dead-letters`` from every
partition (each process holds whole views, so it assigns partitions itself instead of
joining a group),
folds a batch of records through one ``Tx``, and writes the view changes together with the
next offset of every partition in one atomic batch. A restart resumes at those offsets, so
no record is applied twice or skipped; a rebuild wipes the store and starts from offset zero.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import BaseModel

from projections.store import ViewStore
from projections.views import Tx, apply_event
from schemas.codec import Codec, DecodeError

__all__ = ["SOURCE_ROLES", "VIEW_FORMAT", "PartitionLag", "Projector"]

log = logging.getLogger(__name__)

SOURCE_ROLES = ("executions", "rule-outcomes", "definitions", "dead-letters")
"""The topic roles the views are folded from."""

_OFFSET = "_offset/"
_REJECTED = "_rejected/"
_FORMAT = "_format"
SLICE = 100
"""Records folded between two turns of the event loop."""

VIEW_FORMAT = b"8"
"""The shape of the stored views. Bump it when a record's fields or a key layout change: a
projector finding another format in its store wipes it and folds the log again (2: the
executions' secondary indexes and ``waiting``; 3: ``queued`` executions, gates left out; 4: the
dead letters; 5: rule statistics count deferred matches and outcomes per event type; 6:
definition history, who published and why; 7: rule firings joined to their actions' ends; 8: an
execution detail's log lines)."""


@dataclass(frozen=True)
class PartitionLag:
    """How far the views are behind one partition.

    Attributes:
        position: The next offset the views will apply (everything before is in them).
        end: The partition's end offset (the offset the next record will get).
    """

    topic: str
    partition: int
    position: int
    end: int

    @property
    def lag(self) -> int:
        """Records in the log not yet in the views."""
        return max(self.end - self.position, 0)


def _offset_key(tp: TopicPartition) -> str:
    return f"{_OFFSET}{tp.topic}/{tp.partition}"


class Projector:
    """Folds the event log into a ``ViewStore``, resumably.

    Args:
        store: Where the views (and their offsets) live.
        bootstrap: Kafka bootstrap servers.
        topics: Role -> topic name (``infra.topics.topic_names``); the source roles are used.
        codec: Decodes records; one for the topics' prefix by default.
        max_records: Records folded and committed per batch at most.
        kafka_options: aiokafka's security keyword arguments.

    Attributes:
        listeners: Called with the events of each batch once it is committed (live updates).
    """

    def __init__(self, store: ViewStore, bootstrap: str, topics: Mapping[str, str], *,
                 codec: Codec | None = None, max_records: int = 1000,
                 kafka_options: Mapping[str, Any] | None = None) -> None:
        self.store = store
        self.bootstrap = bootstrap
        self.kafka_options = dict(kafka_options or {})
        self.topics = [topics[role] for role in SOURCE_ROLES]
        prefix = topics["executions"].removesuffix("executions")
        self.codec = codec or Codec(prefix=prefix)
        self.max_records = max_records
        self.applied = 0
        self.listeners: list[Callable[[list[BaseModel]], None]] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, seek every partition to the stored offset, and fold in the background."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest", group_id=None,
                                    **self.kafka_options)
        await consumer.start()
        self._consumer = consumer
        self._partitions = await self._discover(consumer)
        consumer.assign(self._partitions)
        stored = self.store.get(_FORMAT)
        if stored is None and not any(True for _ in self.store.scan(_OFFSET)):
            self.store.write({_FORMAT: VIEW_FORMAT})  # a new store (or one filled by a fold)
        elif stored != VIEW_FORMAT:
            log.warning("the views are stored in another format: rebuilding them from the log")
            self._reset()
        await self._seek_to_stored()
        self._task = asyncio.create_task(self._run(), name="headwater-projector")

    def _reset(self) -> None:
        self.store.clear()
        self.store.write({_FORMAT: VIEW_FORMAT})

    async def stop(self) -> None:
        """Stop folding and disconnect; the views keep what was committed."""
        await self._halt()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def rebuild(self) -> None:
        """Wipe the views and fold the log again from offset zero."""
        await self._halt()
        self._reset()
        await self._seek_to_stored()
        self._task = asyncio.create_task(self._run(), name="headwater-projector")

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[dict[TopicPartition, int]]:
        """Stop folding for the block (the views keep what was committed); yields the
        positions the views hold, and resumes from them after the block."""
        assert self._consumer is not None, "start the projector first"
        await self._halt()
        try:
            yield {tp: self.position(tp) for tp in self._partitions}
        finally:
            await self._seek_to_stored()
            self._task = asyncio.create_task(self._run(), name="headwater-projector")

    async def _halt(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _discover(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        found: list[TopicPartition] = []
        for topic in self.topics:
            for _ in range(100):
                partitions = consumer.partitions_for_topic(topic)
                if partitions:
                    found += [TopicPartition(topic, p) for p in sorted(partitions)]
                    break
                await consumer._client.force_metadata_update()  # topics made just now
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"topic {topic} has no partitions (does it exist?)")
        return found

    async def _seek_to_stored(self) -> None:
        assert self._consumer is not None
        for tp in self._partitions:
            self._consumer.seek(tp, self.position(tp))

    # -- folding ---------------------------------------------------------------------
    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batch = await self._consumer.getmany(timeout_ms=500, max_records=self.max_records)
            except Exception as exc:  # a broker outage must not end the views; aiokafka retries
                log.warning("projector cannot fetch: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(1.0)
                continue
            if batch:
                # Let the API's requests in between slices of a batch: folding a whole batch in
                # one go held the loop for ~0.5 s under load (seen as 4 s /views/lag answers).
                # Nothing is written before the end, so a read in between sees the last commit.
                for _ in self._fold_batch(batch):
                    await asyncio.sleep(0)

    def apply_batch(self, batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> int:
        """Fold a batch of records and commit it with the offsets; returns records applied.

        Records below the stored position of their partition were already applied and are
        skipped, which makes a batch safe to apply twice.
        """
        folding = self._fold_batch(batch)
        while True:
            try:
                next(folding)
            except StopIteration as done:
                return int(done.value)

    def _fold_batch(self, batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
                    ) -> Generator[None, None, int]:
        """``apply_batch`` that pauses (yields) every ``SLICE`` records; returns the count."""
        tx = Tx(self.store)
        positions: dict[str, bytes | None] = {}
        rejected: dict[str, int] = {}
        applied = 0
        events: list[BaseModel] = []
        for tp, records in batch.items():
            position = self.position(tp)
            for record in records:
                if record.offset < position:
                    continue
                event = self._decode(record)
                if event is None:
                    rejected[record.topic] = rejected.get(record.topic, 0) + 1
                else:
                    apply_event(tx, event)
                    events.append(event)
                position = record.offset + 1
                applied += 1
                if applied % SLICE == 0:
                    yield
            positions[_offset_key(tp)] = str(position).encode()
        changes = tx.changes() | positions | self._rejected_counts(rejected)
        self.store.write(changes)
        self.applied += applied
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:  # a live listener must never stop the views
                log.exception("projector listener failed")
        return applied

    def _decode(self, record: ConsumerRecord[bytes, bytes]) -> BaseModel | None:
        try:
            return self.codec.decode_value(record.topic, record.value,
                                           partition=record.partition, offset=record.offset)
        except DecodeError as exc:
            # The engine dead-letters what it cannot read; a view can only skip and count.
            log.warning("projector skips a record: %s", exc)
            return None

    def _rejected_counts(self, rejected: dict[str, int]) -> dict[str, bytes | None]:
        return {f"{_REJECTED}{topic}": str(self.rejected(topic) + n).encode()
                for topic, n in rejected.items()}

    # -- reading ---------------------------------------------------------------------
    def position(self, tp: TopicPartition) -> int:
        """The next offset of ``tp`` the views will apply (0 for a fresh store)."""
        data = self.store.get(_offset_key(tp))
        return 0 if data is None else int(data)

    def rejected(self, topic: str) -> int:
        """Records of ``topic`` that could not be decoded and were skipped."""
        data = self.store.get(f"{_REJECTED}{topic}")
        return 0 if data is None else int(data)

    async def lag(self) -> list[PartitionLag]:
        """Per partition: the stored position, the log's end offset, and the difference."""
        assert self._consumer is not None, "start the projector first"
        ends = await self._consumer.end_offsets(self._partitions)
        return [PartitionLag(tp.topic, tp.partition, self.position(tp), ends[tp])
                for tp in self._partitions]

    async def wait_caught_up(self, timeout_s: float = 30.0) -> None:
        """Return once the views hold everything in the log at the time of the call.

        Raises:
            TimeoutError: They did not catch up in ``timeout_s``.
        """
        targets = {(p.topic, p.partition): p.end for p in await self.lag()}
        async with asyncio.timeout(timeout_s):
            while any(self.position(TopicPartition(*tp)) < end for tp, end in targets.items()):
                if self._task is not None and self._task.done():
                    self._task.result()  # the loop died: raise its error here
                await asyncio.sleep(0.05)
