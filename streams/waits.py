"""The wait subscriptions of the trigger partitions a worker owns (the agent's side of
`streams.correlation`): loaded from and saved to the `RuleStateStore` with the partition.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from streams.correlation import Subscriptions, received_command, subscription_of
from streams.routing import Outgoing
from streams.rule_state import RuleStateStore

__all__ = ["PartitionWaits"]


class PartitionWaits:
    """Per owned partition of `hw.triggers`: the open subscriptions and their unsaved changes.

    Args:
        store: Where subscriptions are kept.
    """

    def __init__(self, store: RuleStateStore) -> None:
        self._store = store
        self._tables: dict[int, Subscriptions] = {}

    def load(self, partition: int) -> None:
        """Take a newly assigned partition with the subscriptions stored for it."""
        self._tables[partition] = Subscriptions(self._store.waits(partition))

    def drop(self, partition: int) -> None:
        """Forget a revoked partition (its store entries stay, for a later return)."""
        self._tables.pop(partition, None)

    def count(self, partition: int) -> int:
        """How many subscriptions of `partition` are open."""
        table = self._tables.get(partition)
        return len(table) if table is not None else 0

    def open(self, partition: int, event: Mapping[str, Any], now: datetime) -> None:
        """Open the subscription a wait record carries.

        Raises:
            InvalidSubscription: The record's data is not a subscription (names the field).
        """
        self._tables[partition].open(subscription_of(event), now)

    def route(self, partition: int, event: Mapping[str, Any], now: datetime) -> list[Outgoing]:
        """The `EventReceived` commands an ordinary event causes (its subscriptions close)."""
        taken = self._tables[partition].take(event, now)
        return [Outgoing("commands", sub.execution_id, received_command(sub, event, now))
                for sub in taken]

    def save(self, partition: int) -> None:
        """Store what changed in `partition` (call after its records are acknowledged)."""
        table = self._tables.get(partition)
        if table is not None:
            self._store.write_waits(partition, table.changes())
