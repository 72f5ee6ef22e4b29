"""The execution state store: one RocksDB (rocksdict) per worker, a cache of `hw.executions`.

The store is never the source of truth. Each partition keeps a checkpoint: the offset in
`hw.executions` up to which its states reflect the log. When a worker takes a partition it
folds the log from that checkpoint to the end (`ExecutionProcessor._catch_up`), so a state
written by another worker, or an event produced just before a crash, is never missed. States
and the checkpoint of a batch are written in one atomic `WriteBatch`.

In front of RocksDB sits a write-through LRU of live `State` objects, so a command to a running
execution does not deserialise its state again: an entry is set only after its write
succeeded, so the cache never holds what the disk does not. Sharing the objects is safe
because the state machine never changes a state it is given (it copies). A finished
execution leaves the cache: it is rarely asked for again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path

from rocksdict import WriteBatch

from streams.machine import GateState, State
from streams.runtime.rocks import open_rocksdb, scan

__all__ = ["StateStore"]

_STATE = b"s:"
_GATE = b"g:"
_CHECKPOINT = b"c:"
CACHED_STATES = 20_000
"""Live states kept decoded by default (a few KiB each: tens of MiB)."""


def _state_key(partition: int, execution_id: str, kind: bytes = _STATE) -> bytes:
    # The partition leads the key, so one partition's states are one contiguous range.
    return b"%s%d:%s" % (kind, partition, execution_id.encode())


class StateStore:
    """Execution states by execution id, plus a per-partition checkpoint.

    Args:
        path: The RocksDB directory (created if missing).
        cached: How many live states to keep decoded in memory (0: none).
    """

    def __init__(self, path: Path, cached: int = CACHED_STATES) -> None:
        self._db = open_rocksdb(path)
        self._cache: OrderedDict[tuple[int, str], State] = OrderedDict()
        self._cached = cached

    def get(self, partition: int, execution_id: str) -> State | None:
        """The stored state of an execution of `partition`, if any (never change it)."""
        key = (partition, execution_id)
        state = self._cache.get(key)
        if state is not None:
            self._cache.move_to_end(key)
            return state
        data = self._db.get(_state_key(partition, execution_id))
        if data is None:
            return None
        state = State.from_bytes(data)
        self._remember(key, state)
        return state

    def _remember(self, key: tuple[int, str], state: State) -> None:
        if state.finished or not self._cached:
            self._cache.pop(key, None)
            return
        self._cache[key] = state
        self._cache.move_to_end(key)
        if len(self._cache) > self._cached:
            self._cache.popitem(last=False)

    def get_gate(self, partition: int, gate_id: str) -> GateState | None:
        """The stored state of a workflow's concurrency gate of `partition`, if any."""
        data = self._db.get(_state_key(partition, gate_id, _GATE))
        return GateState.from_bytes(data) if data is not None else None

    def checkpoint(self, partition: int) -> int:
        """The `hw.executions` offset of `partition` the stored states reflect (0: none)."""
        data = self._db.get(_CHECKPOINT + str(partition).encode())
        return int(data) if data is not None else 0

    def write(self, partition: int, states: Mapping[str, State | GateState],
              checkpoint: int | None) -> None:
        """Store states of `partition` and its checkpoint atomically (all or nothing)."""
        self.write_many({partition: (states, checkpoint)})

    def write_many(self, changes: Mapping[int, tuple[Mapping[str, State | GateState],
                                                     int | None]]) -> None:
        """Store states and checkpoints of several partitions in one atomic write.

        Args:
            changes: Partition -> (its changed execution and gate states, its new checkpoint
                or None).
        """
        batch = WriteBatch(raw_mode=True)
        for partition, (states, checkpoint) in changes.items():
            for execution_id, state in states.items():
                kind = _GATE if isinstance(state, GateState) else _STATE
                batch.put(_state_key(partition, execution_id, kind), state.to_bytes())
            if checkpoint is not None:
                batch.put(_CHECKPOINT + str(partition).encode(), str(checkpoint).encode())
        self._db.write(batch)
        for partition, (states, _) in changes.items():
            for execution_id, state in states.items():
                if isinstance(state, State):  # gates are read once a batch, from disk
                    self._remember((partition, execution_id), state)

    def states(self, partition: int) -> Iterator[State]:
        """Every stored state of `partition` (for timers after a restart, and for checks)."""
        prefix = _state_key(partition, "")
        for key, value in scan(self._db, prefix):
            if not (isinstance(key, bytes) and key.startswith(prefix)):
                break
            assert isinstance(value, bytes)
            yield State.from_bytes(value)

    def forget(self, partition: int) -> None:
        """Drop the cached states of a partition (another worker may change them now)."""
        for key in [key for key in self._cache if key[0] == partition]:
            del self._cache[key]

    def close(self) -> None:
        """Flush and close the database."""
        self._cache.clear()
        self._db.close()
