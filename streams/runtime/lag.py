"""How far a consumer group is behind on a topic: the end offsets minus its committed ones.

The trigger agent's backpressure asks it (through `Backpressure`) how many tasks wait.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.runtime.config import LoopConfig

__all__ = ["GroupLag"]


class GroupLag:
    """Counts the records of `topic` that `group` has not committed yet.

    Args:
        bootstrap: Kafka bootstrap servers.
        topic: The topic.
        partitions: Its number of partitions.
        group: The consumer group.
        config: The consumer settings.
    """

    def __init__(self, bootstrap: str, topic: str, partitions: int, group: str,
                 config: LoopConfig | None = None) -> None:
        self._group = group
        self._parts = [TopicPartition(topic, p) for p in range(partitions)]
        config = config or LoopConfig()
        self._admin = AIOKafkaAdminClient(**config.admin(bootstrap))
        self._ends = AIOKafkaConsumer(**config.consumer(bootstrap, None))

    async def start(self) -> None:
        """Connect."""
        await self._admin.start()
        await self._ends.start()

    async def stop(self) -> None:
        """Disconnect."""
        await self._ends.stop()
        await self._admin.close()

    async def pending(self) -> int:
        """Produced and not yet committed by the group, over every partition."""
        ends = await self._ends.end_offsets(self._parts)
        committed = await self._admin.list_consumer_group_offsets(self._group,
                                                                  partitions=self._parts)
        done = {tp: meta.offset for tp, meta in committed.items() if meta is not None}
        return sum(max(0, end - max(done.get(tp, 0), 0)) for tp, end in ends.items())
