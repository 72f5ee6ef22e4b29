"""What the runtime knows of the topics it writes: partition counts and record size limits.

Read from the broker once, when the engine starts (`TopicTable.read`): the number of
partitions of each topic (for `partition_for`, which must agree with the default partitioner
of every other producer, since the processor checks a command's partition against its key) and
each topic's ``max.message.bytes`` (so an oversize record is refused with a typed error before
it is produced, instead of failing the whole batch's flush).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.partitioner import murmur2

__all__ = ["RECORD_OVERHEAD", "TopicTable", "partition_for"]

RECORD_OVERHEAD = 128
"""Bytes a one-record batch adds to its key and value (61 of batch header, the rest varints)."""
_BROKER_DEFAULT = 1_048_588  # Kafka's message.max.bytes default


def partition_for(key: bytes | None, partitions: int) -> int:
    """The partition of a keyed record, as the Java and aiokafka default partitioners choose.

    Every part computes it the same way, so a command produced by the trigger agent, a task
    worker or the API lands on the partition whose owner holds its execution.
    """
    return ((murmur2(key) & 0x7FFFFFFF) if key else 0) % partitions


@dataclass(frozen=True)
class TopicTable:
    """Partition counts and largest record (bytes) per topic name.

    Attributes:
        partitions: Topic name -> its number of partitions.
        max_bytes: Topic name -> the largest record it takes (key, value and headers), the
            smaller of the topic's ``max.message.bytes`` and the producer's request limit, less
            the batch overhead.
    """

    partitions: Mapping[str, int]
    max_bytes: Mapping[str, int]

    @classmethod
    async def read(cls, bootstrap: str, topics: Iterable[str], max_request_size: int,
                   client_options: Mapping[str, Any] | None = None,
                   settle_s: float = 10.0) -> TopicTable:
        """Ask the broker (a metadata and a describe-configs request); a topic that does not
        exist is left out (`count` names it when a part needs it).

        A topic created a moment ago can be unknown to the broker's metadata for a while (seen
        on a loaded machine: every topic of a fresh prefix missing right after creation), so a
        topic missing is asked for again for up to `settle_s` seconds before it counts as
        absent."""
        names = sorted(set(topics))
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(client_options or {}))
        await admin.start()
        deadline = time.monotonic() + settle_s
        try:
            while True:
                described = await admin.describe_topics(names)
                partitions = {d["topic"]: len(d["partitions"]) for d in described
                              if not d["error_code"] and d["partitions"]}
                if len(partitions) == len(names) or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(0.2)
            configs = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name, {"max.message.bytes": None})
                 for name in names if name in partitions])
        finally:
            await admin.close()
        limits = _max_message_bytes(configs)
        return cls(partitions, {
            name: min(limits.get(name, _BROKER_DEFAULT), max_request_size) - RECORD_OVERHEAD
            for name in names})

    def count(self, topic: str) -> int:
        """The partitions of `topic`.

        Raises:
            RuntimeError: The topic does not exist.
        """
        found = self.partitions.get(topic)
        if found is None:
            raise RuntimeError(f"topic {topic} does not exist (create it with `headwater topics`)")
        return found

    def limit(self, topic: str) -> int:
        """The largest record `topic` takes, in bytes (key + value + headers)."""
        return self.max_bytes.get(topic, _BROKER_DEFAULT - RECORD_OVERHEAD)


def _max_message_bytes(responses: list[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    for response in responses:
        for resource in getattr(response, "resources", ()):
            error, _, _, name, entries = resource[:5]
            if error:
                continue
            for entry in entries:
                if entry[0] == "max.message.bytes" and entry[1] is not None:
                    found[name] = int(entry[1])
    return found
