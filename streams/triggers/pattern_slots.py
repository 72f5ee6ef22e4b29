"""The pattern state of the trigger partitions a worker owns, their timers and checkpoints.

One `RuleEngine` serves every partition: before deciding for a partition the engine is pointed
at that partition's slots, so a partition handed to another worker takes exactly its own state
along (through the store or a replay). The slots are this module's, not the engine's: when a
rule goes away, `retain` drops its slots from every partition held and from the store (the
engine's own `remove` only forgets the dict it happens to point at), so a rule published again
under the same id starts with no partial match. Absence timers are derived from the state itself (the
deadline is the slot's start plus the timeout), so they survive restarts without a log of
their own; a timer fired twice produces the same ids (`streams.triggers.effects`).
"""

from __future__ import annotations

import heapq
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from rules import Evaluation, Partial, RuleEngine, Timer
from schemas.definitions import AbsencePattern
from streams.triggers.rule_state import RuleStateStore, Slot
from streams.triggers.rulebook import Rulebook

__all__ = ["PartitionSlots"]

OffsetAt = Callable[[int, datetime], Awaitable[int]]


class PartitionSlots:
    """Per owned partition: pattern slots, unsaved changes, pending timers, checkpoint.

    Args:
        book: The rules (their engine is shared by all partitions).
        store: Where slots and checkpoints are kept.
    """

    def __init__(self, book: Rulebook, store: RuleStateStore) -> None:
        self._book, self._store = book, store
        self._state: dict[int, dict[Slot, Partial]] = {}
        self._dirty: dict[int, dict[Slot, Partial | None]] = {}
        self._timers: dict[int, list[tuple[datetime, str, str]]] = {}
        self._checkpoints: dict[int, int] = {}

    @property
    def partitions(self) -> list[int]:
        """The partitions held."""
        return list(self._state)

    def engine_for(self, partition: int) -> RuleEngine:
        """The rule engine, looking at `partition`'s pattern state."""
        engine = self._book.rules
        engine.pattern_state = self._state[partition]
        return engine

    def retain(self) -> None:
        """Drop the slots of rules that are no longer in the book, in every partition held
        (stored as deletions with the partition's next save)."""
        rules = self._book.rules
        for partition, state in self._state.items():
            gone = [slot for slot in state if rules.rule(slot[0]) is None]
            for slot in gone:
                del state[slot]
                self._dirty[partition][slot] = None

    def apply(self, partition: int, evaluation: Evaluation, *, counters: bool = True) -> None:
        """Fold an evaluation's changes in (in place: the engine's own fold copies the dict).

        `counters=False` folds only the pattern state (a replay must not count limits again).
        """
        if counters and evaluation.changes:
            self._book.rules.apply(Evaluation(changes=evaluation.changes))
        state, dirty = self._state[partition], self._dirty[partition]
        for change in evaluation.pattern_changes:
            slot = (change.rule_id, change.key)
            if change.value is None:
                state.pop(slot, None)
            else:
                state[slot] = change.value
            dirty[slot] = change.value
        for timer in evaluation.timers:
            heapq.heappush(self._timers[partition], (timer.due, timer.rule_id, timer.key))

    def save(self, partition: int, checkpoint: int | None) -> None:
        """Store the partition's changed slots (and its new checkpoint) atomically."""
        if checkpoint is None and not self._dirty[partition]:
            return
        self._store.write(partition, self._dirty[partition], checkpoint)
        self._dirty[partition].clear()
        if checkpoint is not None:
            self._checkpoints[partition] = checkpoint

    def checkpoint(self, partition: int) -> int:
        """The next offset whose effects are not yet acknowledged and stored."""
        return self._checkpoints[partition]

    def due(self, partition: int, now: datetime) -> list[Timer]:
        """Pop the timers of `partition` due at `now`."""
        heap, fired = self._timers[partition], []
        while heap and heap[0][0] <= now:
            due, rule_id, key = heapq.heappop(heap)
            fired.append(Timer(rule_id, key, due))
        return fired

    def drop(self, partition: int) -> None:
        """Forget a revoked partition (its store entries stay, for a later return)."""
        self._state.pop(partition, None)
        self._dirty.pop(partition, None)
        self._timers.pop(partition, None)
        self._checkpoints.pop(partition, None)

    async def take(self, partition: int, committed: int, offset_at: OffsetAt,
                   now: datetime) -> int | None:
        """Load a newly assigned partition; the offset to replay from up to `committed`.

        The store is behind when another worker processed the partition since: its state is
        rebuilt by replaying the triggers, from the store's checkpoint, or, when that is
        further back than the longest pattern window, from the window's start (older events
        cannot complete a pattern any more).
        """
        stored = self._store.checkpoint(partition)
        start: int | None = None
        if stored < committed:
            window = self._book.windows()
            start = await offset_at(partition, now - timedelta(seconds=window)) if window else committed
            if start > stored:
                self._store.forget(partition)
                stored = 0
            start = min(max(start, stored), committed)
        slots = dict(self._store.slots(partition))
        # Slots of rules removed while another worker (or nobody) held the partition.
        self._dirty[partition] = {slot: None for slot in slots
                                  if self._book.rules.rule(slot[0]) is None}
        self._state[partition] = {slot: partial for slot, partial in slots.items()
                                  if slot not in self._dirty[partition]}
        self._checkpoints[partition] = stored
        self._timers[partition] = self._absence_timers(self._state[partition])
        if start is not None and start >= committed:
            self.save(partition, committed)
            return None
        return start

    def _absence_timers(self, slots: dict[Slot, Partial]) -> list[tuple[datetime, str, str]]:
        heap: list[tuple[datetime, str, str]] = []
        for (rule_id, key), partial in slots.items():
            rule = self._book.rules.rule(rule_id)
            pattern = rule.definition.pattern if rule is not None else None
            if isinstance(pattern, AbsencePattern):
                heap.append((partial.started + timedelta(seconds=pattern.timeout), rule_id, key))
        heapq.heapify(heap)
        return heap
