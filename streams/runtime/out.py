"""`Out`: what a handler hands the loop to produce in one cycle.

Records are staged, not sent, until the loop flushes the cycle (`streams.runtime.outbox`), so
the loop can withdraw what a record had staged when handling it failed halfway (`mark` and
`rollback`): a poison record leaves a dead letter and nothing else. Every record is checked
against its topic's size limit as it is staged, so an oversize one raises `TooLarge` in the
handler that made it (which may turn it into a failed step) instead of failing the flush of
a whole batch. Keyed records without a partition go where the default partitioner puts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from streams.runtime.dead_letters import DeadLetters, Record
from streams.runtime.handler import TooLarge
from streams.runtime.outbox import Outbox
from streams.runtime.topics import TopicTable, partition_for

__all__ = ["Out"]

_Staged = tuple[str, int | None, bytes | None, bytes]


class Out:
    """The records one cycle produces (see the module docstring).

    Args:
        table: Partition counts and size limits of the topics.
        dead_letters: How dead letters are made.
        consumer: The handler's name, on its dead letters.
        now: The cycle's time (the dead letters' `failed_at`).
    """

    def __init__(self, table: TopicTable, dead_letters: DeadLetters, consumer: str,
                 now: datetime) -> None:
        self._table, self._dead, self._consumer, self.now = table, dead_letters, consumer, now
        self._staged: list[_Staged] = []
        self.intake_paused: bool | None = None

    def __len__(self) -> int:
        return len(self._staged)

    def put(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> None:
        """Stage a record for `topic` (at `partition`, or the key's default partition).

        Raises:
            TooLarge: The record is larger than `topic` takes.
        """
        size = len(value) + (len(key) if key else 0)
        limit = self._table.limit(topic)
        if size > limit:
            raise TooLarge(topic, size, limit)
        if partition is None and key is not None:
            partition = partition_for(key, self._table.count(topic))
        self._staged.append((topic, partition, key, value))

    def dead(self, record: Record, reason: str, message: str, consumer: str | None = None) -> None:
        """Stage the dead letter of `record` (acknowledged with the cycle, before its commit)."""
        topic, key, value = self._dead.letter(record, reason, message,
                                              consumer or self._consumer, self.now)
        # A dead letter carries the original bytes: one at the limit is cut, never refused.
        self._staged.append((topic, None, key, value))

    def pause_intake(self, paused: bool) -> None:
        """Ask the loop to stop (or resume) polling its topic, keeping its partitions."""
        self.intake_paused = paused

    def mark(self) -> int:
        """A point to `rollback` to."""
        return len(self._staged)

    def rollback(self, mark: int) -> None:
        """Withdraw what was staged since `mark`."""
        del self._staged[mark:]

    async def flush(self, outbox: Outbox) -> dict[tuple[str, int], int]:
        """Produce everything staged and wait for every ack; the next offset per partition.

        Raises:
            KafkaError: A record was not acknowledged (nothing may be stored or committed).
        """
        for topic, partition, key, value in self._staged:
            if partition is None:
                await outbox.send(topic, key, value)
            else:
                await outbox.append(topic, partition, key, value)
        self._staged.clear()
        return await outbox.flush()

    @property
    def staged(self) -> Sequence[_Staged]:
        """What is staged (for tests and benchmarks that run a handler without a broker)."""
        return self._staged
