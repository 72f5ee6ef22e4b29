"""The wait subscriptions and early events of the trigger partitions a worker owns (the
agent's side of `streams.triggers.correlation` and `streams.triggers.early_events`): loaded from and saved to the
`RuleStateStore` with the partition.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from schemas.definitions import WorkflowDefinition
from schemas.waits import INTERNAL_PREFIX, Subscription, subscription_of
from streams.runtime.outgoing import Outgoing
from streams.triggers.correlation import Subscriptions, received_command
from streams.triggers.early_events import EarlyEvents, WaitTypes
from streams.triggers.rule_state import RuleStateStore

__all__ = ["PartitionWaits"]


class PartitionWaits:
    """Per owned partition of `hw.triggers`: the open subscriptions and their unsaved changes.

    Args:
        store: Where subscriptions are kept.
    """

    def __init__(self, store: RuleStateStore) -> None:
        self._store = store
        self._tables: dict[int, Subscriptions] = {}
        self._early: dict[int, EarlyEvents] = {}
        self._wanted = WaitTypes()

    def expect(self, workflows: list[WorkflowDefinition]) -> None:
        """Keep early events of the types these (the active) workflows' waits expect."""
        self._wanted = WaitTypes(workflows)

    def load(self, partition: int) -> None:
        """Take a newly assigned partition with the subscriptions stored for it."""
        self._tables[partition] = Subscriptions(self._store.waits(partition))
        self._early[partition] = EarlyEvents(self._store.early(partition))

    def _table(self, partition: int) -> Subscriptions:
        # Loaded on assignment; on first use for a partition handed over without it.
        if partition not in self._tables:
            self.load(partition)
        return self._tables[partition]

    def drop(self, partition: int) -> None:
        """Forget a revoked partition (its store entries stay, for a later return)."""
        self._tables.pop(partition, None)
        self._early.pop(partition, None)

    def count(self, partition: int) -> int:
        """How many subscriptions of `partition` are open."""
        table = self._tables.get(partition)
        return len(table) if table is not None else 0

    def open(self, partition: int, event: Mapping[str, Any], now: datetime) -> list[Outgoing]:
        """Open the subscription a wait record carries, or resume it at once with an event
        that came just before it (then the command to produce).

        Raises:
            InvalidSubscription: The record's data is not a subscription (names the field).
        """
        sub, table = subscription_of(event), self._table(partition)
        if not table.open(sub, now):
            return []
        early = self._early[partition].claim(sub, now)
        if early is None:
            return []
        table.take(early, now, only=sub.id)
        return [_received(sub, early, now)]

    def route(self, partition: int, event: Mapping[str, Any],
              timestamp_ms: int) -> list[Outgoing] | None:
        """The `EventReceived` commands an ordinary event causes (its subscriptions close);
        an event some wait may expect is also kept a while for waits about to open.
        None: `event` is a wait record (`open` it instead).

        On the hot path: most events have neither a subscription nor an expected type, and
        cost a few lookups.
        """
        kind, subject = event.get("type"), event.get("subject")
        if kind.__class__ is str and kind.startswith(INTERNAL_PREFIX):
            return None
        if subject.__class__ is not str:
            return []
        table = self._tables.get(partition)
        if table is None:
            table = self._table(partition)
        wanted = kind in self._wanted.exact or (bool(self._wanted.globs) and kind in self._wanted)
        if not wanted and subject not in table:
            return []
        now = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
        taken = table.take(event, now)
        if wanted:
            self._early[partition].keep(event, now, (sub.execution_id for sub in taken))
        return [_received(sub, event, now) for sub in taken]

    def save(self, partition: int) -> None:
        """Store what changed in `partition` (call after its records are acknowledged)."""
        table, early = self._tables.get(partition), self._early.get(partition)
        if table is not None and early is not None:
            self._store.write_waits(partition, table.changes())
            self._store.write_early(partition, early.changes())


def _received(sub: Subscription, event: Mapping[str, Any], now: datetime) -> Outgoing:
    return Outgoing("commands", sub.execution_id, received_command(sub, event, now))
