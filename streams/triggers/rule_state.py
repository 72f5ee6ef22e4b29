"""The trigger agent's local store: pattern state and wait subscriptions per partition,
checkpoints, schedule cursors.

A cache, like the execution store: the source of truth is `hw.triggers` itself. Each partition
keeps a checkpoint, the next trigger offset its pattern state reflects; a worker taking the
partition replays the triggers from there (`TriggerAgent`), so state another worker built, or
that a crash left unwritten, is rebuilt. State and checkpoint are written in one `WriteBatch`.
Subscriptions (`streams.triggers.correlation`) are written just before their batch's checkpoint, after
its records are acknowledged: a crash between the two replays records whose effects were
already produced, and replaying them again derives the same ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

import orjson
from pydantic import BaseModel
from rocksdict import WriteBatch

from rules import Partial
from schemas.waits import Subscription
from streams.runtime.rocks import open_rocksdb, scan
from streams.triggers.early_events import EarlyEvent

__all__ = ["RuleStateStore", "Slot"]

Slot = tuple[str, str]
"""A pattern's state slot: (rule id, correlation key)."""

_PATTERN = b"p:"
_CHECKPOINT = b"c:"
_CURSOR = b"s:"
_WAIT = b"w:"
_EARLY = b"b:"
_GATE = b"g:"
_GATE_CHECKPOINT = b"gc:"


def _slot_key(partition: int, slot: Slot) -> bytes:
    return b"%s%d:%s\x00%s" % (_PATTERN, partition, slot[0].encode(), slot[1].encode())


def _encode(partial: Partial) -> bytes:
    return orjson.dumps({"s": partial.started, "e": list(partial.events),
                         "t": list(partial.times)})


def _decode(data: bytes) -> Partial:
    raw = orjson.loads(data)
    return Partial(datetime.fromisoformat(raw["s"]), tuple(raw["e"]),
                   tuple(datetime.fromisoformat(t) for t in raw["t"]))


class RuleStateStore:
    """Pattern slots by partition, the partition checkpoints, and schedule cursors.

    Args:
        path: The RocksDB directory (created if missing).
    """

    def __init__(self, path: Path) -> None:
        self._db = open_rocksdb(path)

    def checkpoint(self, partition: int) -> int:
        """The next `hw.triggers` offset of `partition` the stored state reflects (0: none)."""
        data = self._db.get(_CHECKPOINT + str(partition).encode())
        return int(data) if data is not None else 0

    def write(self, partition: int, slots: Mapping[Slot, Partial | None],
              checkpoint: int | None) -> None:
        """Store (None: delete) slots of `partition` and its checkpoint, all or nothing."""
        batch = WriteBatch(raw_mode=True)
        for slot, partial in slots.items():
            if partial is None:
                batch.delete(_slot_key(partition, slot))
            else:
                batch.put(_slot_key(partition, slot), _encode(partial))
        if checkpoint is not None:
            batch.put(_CHECKPOINT + str(partition).encode(), str(checkpoint).encode())
        self._db.write(batch)

    def slots(self, partition: int) -> Iterator[tuple[Slot, Partial]]:
        """Every stored slot of `partition`."""
        prefix = b"%s%d:" % (_PATTERN, partition)
        for key, value in scan(self._db, prefix):
            if not (isinstance(key, bytes) and key.startswith(prefix)):
                break
            rule_id, _, correlation = key[len(prefix):].partition(b"\x00")
            assert isinstance(value, bytes)
            yield (rule_id.decode(), correlation.decode()), _decode(value)

    def write_waits(self, partition: int, changes: Mapping[str, Subscription | None]) -> None:
        """Store (None: delete) subscriptions of `partition` by id, all or nothing."""
        self._write_models(_WAIT, partition, changes)

    def waits(self, partition: int) -> Iterator[Subscription]:
        """Every stored subscription of `partition`."""
        for value in self._values(_WAIT, partition):
            yield Subscription.model_validate_json(value)

    def write_early(self, partition: int, changes: Mapping[str, EarlyEvent | None]) -> None:
        """Store (None: delete) kept early events of `partition` by key, all or nothing."""
        self._write_models(_EARLY, partition, changes)

    def early(self, partition: int) -> Iterator[EarlyEvent]:
        """Every stored early event of `partition`."""
        for value in self._values(_EARLY, partition):
            yield EarlyEvent.model_validate_json(value)

    def _write_models(self, prefix: bytes, partition: int,
                      changes: Mapping[str, BaseModel | None]) -> None:
        if not changes:
            return
        batch = WriteBatch(raw_mode=True)
        for name, model in changes.items():
            key = b"%s%d:%s" % (prefix, partition, name.encode())
            if model is None:
                batch.delete(key)
            else:
                batch.put(key, model.model_dump_json().encode())
        self._db.write(batch)

    def _values(self, prefix: bytes, partition: int) -> Iterator[bytes]:
        start = b"%s%d:" % (prefix, partition)
        for key, value in scan(self._db, start):
            if not (isinstance(key, bytes) and key.startswith(start)):
                break
            assert isinstance(value, bytes)
            yield value

    def gate_checkpoint(self, partition: int) -> int:
        """The next `hw.triggers` offset of `partition` the stored rule gates reflect (0: none).

        Gates keep a checkpoint of their own: their state is a fold of every gate record
        since the partition began (no window, unlike patterns), written with it atomically.
        """
        data = self._db.get(_GATE_CHECKPOINT + str(partition).encode())
        return int(data) if data is not None else 0

    def write_gates(self, partition: int, gates: Mapping[str, bytes], checkpoint: int) -> None:
        """Store changed rule gates of `partition` (by gate key) with their checkpoint, at once."""
        batch = WriteBatch(raw_mode=True)
        for key, state in gates.items():
            batch.put(b"%s%d:%s" % (_GATE, partition, key.encode()), state)
        batch.put(_GATE_CHECKPOINT + str(partition).encode(), str(checkpoint).encode())
        self._db.write(batch)

    def gates(self, partition: int) -> Iterator[bytes]:
        """Every stored rule gate of `partition`."""
        yield from self._values(_GATE, partition)

    def forget(self, partition: int) -> None:
        """Drop a partition's slots and checkpoint (its state is to be rebuilt from the log).

        Its subscriptions and early events stay: the agent replays them from the checkpoint
        they reflect.
        """
        batch = WriteBatch(raw_mode=True)
        for slot, _ in list(self.slots(partition)):
            batch.delete(_slot_key(partition, slot))
        batch.delete(_CHECKPOINT + str(partition).encode())
        self._db.write(batch)

    def cursor(self, schedule: str) -> datetime | None:
        """The last fire time a schedule was handled up to, if this worker ran it before."""
        data = self._db.get(_CURSOR + schedule.encode())
        return datetime.fromisoformat(data.decode()) if data is not None else None

    def set_cursor(self, schedule: str, at: datetime) -> None:
        """Remember that a schedule is handled up to `at`."""
        self._db[_CURSOR + schedule.encode()] = at.isoformat().encode()

    def close(self) -> None:
        """Flush and close the database."""
        self._db.close()
