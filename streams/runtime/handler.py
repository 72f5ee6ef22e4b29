"""The contract between the partition loop and the engine's parts (pure: no Kafka here).

A handler only decides; the loop (`streams.runtime.loop`) owns everything that makes a
decision durable. In the spirit of Zeebe's `RecordProcessor`: the loop calls, per partition,

- `assigned(partition, committed)` when the partition becomes this worker's: load what the
  handler keeps for it and say what to replay (`Replay`), or None;
- `replay(record)` for each replayed record: fold it into the handler's state. It must never
  produce (it gets no outbox): the records a replayed record caused are already on the log;
- `replayed(partition, position)` after each replayed chunk: store the folded state with
  `position` as its checkpoint;
- `process(record, out)` for each polled record, in offset order: decide, and put what to
  produce in `out`. Raising `Refused` (or anything else) sends the record to the dead letters
  and withdraws what this record had put in `out`; the handler must change its own state only
  once nothing more can raise for the record;
- `tick(now, out)` once per cycle, after the records: timers, schedules and anything else the
  clock decides, through the same outbox and acks;
- `store(checkpoints)` once the cycle's records are acknowledged: write the state the cycle
  changed, with each partition's checkpoint, atomically;
- `holding(partition)` the lowest offset whose work is still running (the loop commits no
  further), or None;
- `revoked(partition)` when the partition goes to another worker: forget it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from schemas.codec import Codec, DecodeError

if TYPE_CHECKING:
    from streams.runtime.out import Out

__all__ = ["Checkpoint", "Handler", "Refused", "Replay", "TooLarge", "decode_record"]


class Refused(Exception):
    """A record a handler cannot process; it becomes a dead letter with `reason`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


def decode_record(codec: Codec, record: Any) -> Any:
    """The value of a consumed record, decoded.

    Raises:
        Refused: It does not decode (the reason is the codec's: unknown schema id, ...).
    """
    try:
        return codec.decode_value(record.topic, record.value, partition=record.partition,
                                  offset=record.offset)
    except DecodeError as exc:
        raise Refused(exc.reason, exc.detail) from None


class TooLarge(Refused):
    """A record to produce is larger than its topic takes (checked before producing).

    Attributes:
        topic: Where it was to go.
        size: Its size in bytes (key, value and headers).
        limit: The largest record the topic takes.
    """

    def __init__(self, topic: str, size: int, limit: int) -> None:
        super().__init__("input_too_large",
                         f"a record of {size} bytes for {topic} is over its limit of {limit} bytes")
        self.topic, self.size, self.limit = topic, size, limit


@dataclass(frozen=True, slots=True)
class Replay:
    """What to fold on assignment: `topic`'s records of the partition, `start` to `end`.

    Attributes:
        topic: The topic to read (the loop's own, or a log the handler folds, such as the
            executions' events).
        start: The first offset to fold.
        end: The offset to stop before; None: the partition's end when the replay begins.
    """

    topic: str
    start: int
    end: int | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a cycle got, per partition, once its records are acknowledged.

    Attributes:
        consumed: The next offset of the loop's topic this partition's state reflects.
        written: (topic, partition) -> the next offset after the records the cycle produced
            there (the execution processor's checkpoint in ``hw.executions``).
        began: (topic, partition) -> the offset the cycle's first record there got: when it
            is not where the handler's last checkpoint ended, another writer's records lie
            in between (a worker that lost the partition while its records were in flight).
    """

    consumed: int
    written: Mapping[tuple[str, int], int] = field(default_factory=dict)
    began: Mapping[tuple[str, int], int] = field(default_factory=dict)


class Handler(Protocol):
    """One part of the engine, run by a `PartitionLoop` (see the module docstring)."""

    name: str
    """Named on its dead letters (``consumer``) and in the loop's log lines."""

    async def assigned(self, partition: int, committed: int) -> Replay | None: ...

    def replay(self, record: Any) -> None: ...

    def replayed(self, partition: int, position: int) -> None: ...

    async def process(self, record: Any, out: Out) -> None: ...

    async def tick(self, now: datetime, out: Out) -> None: ...

    def store(self, checkpoints: Mapping[int, Checkpoint]) -> None: ...

    def holding(self, partition: int) -> int | None: ...

    def revoked(self, partition: int) -> None: ...
