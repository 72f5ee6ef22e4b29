"""A partition's items grouped by CloudEvents subject, with the changes to store (pure).

Wait subscriptions (`streams.triggers.correlation`) and kept early events (`streams.triggers.early_events`)
both live on the trigger partition that owns their subject: looked up by subject, written to
the rule-state store as changed, and swept for expiry when the table has doubled since the
last sweep (subjects never seen again would otherwise keep theirs for ever).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Generic, TypeVar

__all__ = ["SubjectTable"]

T = TypeVar("T")
_SWEEP_FLOOR = 1024


class SubjectTable(Generic[T]):
    """Items by subject and key; `changes` says what to store (None: removed).

    Subclasses name an item's subject and key, and what expiring means.
    """

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._by_subject: dict[str, dict[str, T]] = {}
        self._changed: dict[str, T | None] = {}
        self._count = 0
        for item in items:
            self._put(item)
        self._changed.clear()
        self._sweep_at = max(_SWEEP_FLOOR, 2 * self._count)

    def subject_of(self, item: T) -> str:
        """The subject an item belongs to."""
        raise NotImplementedError

    def key_of(self, item: T) -> str:
        """The item's key (its store key, unique in the partition)."""
        raise NotImplementedError

    def expire(self, now: datetime) -> list[T]:
        """Remove and return every item expired at `now`."""
        raise NotImplementedError

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[T]:
        for group in self._by_subject.values():
            yield from group.values()

    def group(self, subject: object) -> dict[str, T]:
        """The items of `subject` by key (empty if none; do not change it)."""
        return self._by_subject.get(subject, {}) if isinstance(subject, str) else {}

    def changes(self) -> dict[str, T | None]:
        """What changed since the last call, by key (None: removed); then forget it."""
        out, self._changed = self._changed, {}
        return out

    def _put(self, item: T) -> None:
        group = self._by_subject.setdefault(self.subject_of(item), {})
        key = self.key_of(item)
        if key not in group:
            self._count += 1
        group[key] = item
        self._changed[key] = item

    def _remove(self, item: T) -> None:
        subject, key = self.subject_of(item), self.key_of(item)
        group = self._by_subject[subject]
        del group[key]
        if not group:
            del self._by_subject[subject]
        self._count -= 1
        self._changed[key] = None

    def _sweep_if_grown(self, now: datetime) -> None:
        if self._count > self._sweep_at:
            self.expire(now)
            self._sweep_at = max(_SWEEP_FLOOR, 2 * self._count)
