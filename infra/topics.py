"""The topics of the design, declared once, and their idempotent creation.

Commands and executions are both keyed by execution id and must have the same partition count,
so that one worker owns an execution's commands and its history at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its role (the name without prefix), partitions and configuration."""

    role: str
    partitions: int | None = None  # None: the configured default
    config: dict[str, str] = field(default_factory=dict)
    doc: str = ""

    def name(self, prefix: str) -> str:
        return f"{prefix}{self.role}"


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("triggers", config={"retention.ms": str(7 * DAY_MS)},
              doc="trigger events (CloudEvents), keyed by correlation key"),
    TopicSpec("definitions", partitions=1,
              config={"cleanup.policy": "compact", "min.compaction.lag.ms": "0"},
              doc="workflow and rule definitions, keyed by definition id; every worker reads all"),
    TopicSpec("commands", config={"retention.ms": str(7 * DAY_MS)},
              doc="commands to executions, keyed by execution id"),
    TopicSpec("executions", config={"retention.ms": "-1"},
              doc="execution histories, keyed by execution id: the source of truth"),
    TopicSpec("tasks", config={"retention.ms": str(7 * DAY_MS)},
              doc="tasks for built-in and external workers, keyed by execution id"),
    TopicSpec("rule-outcomes", config={"retention.ms": str(30 * DAY_MS)},
              doc="rule matched / skipped / failed, keyed by rule id"),
    TopicSpec("dead-letters", config={"retention.ms": str(90 * DAY_MS)},
              doc="records that could not be processed, with the reason"),
    TopicSpec("alerts", config={"retention.ms": str(90 * DAY_MS)},
              doc="alerts raised and resolved, keyed by what they are about"),
)


def topic_names(prefix: str) -> dict[str, str]:
    """Role -> full topic name, e.g. {"triggers": "hw.triggers", ...}."""
    return {spec.role: spec.name(prefix) for spec in TOPICS}


async def create_topics_async(
    bootstrap: str, prefix: str = "hw.", partitions: int = 6, replication: int = 1,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create every missing topic of `TOPICS`; return the names created (existing ones are kept).

    `client_options` are aiokafka's security keyword arguments for a secured cluster.

    Raises:
        RuntimeError: an existing topic has fewer partitions than declared (co-partitioning of
            commands and executions would break).
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000,
                                **(client_options or {}))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(spec.name(prefix), spec.partitions or partitions, replication,
                     topic_configs=dict(spec.config))
            for spec in TOPICS if spec.name(prefix) not in existing
        ]
        if wanted:
            # Another process may win the race; the topic is there, which is all we need.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        await _check_partitions(admin, prefix, partitions, existing)
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def _check_partitions(admin: object, prefix: str, partitions: int, existing: set[str]) -> None:
    names = [spec.name(prefix) for spec in TOPICS if spec.name(prefix) in existing]
    if not names:
        return
    described = await admin.describe_topics(names)  # type: ignore[attr-defined]
    counts = {d["topic"]: len(d["partitions"]) for d in described}
    commands, executions = counts.get(f"{prefix}commands"), counts.get(f"{prefix}executions")
    if commands is not None and executions is not None and commands != executions:
        raise RuntimeError(
            f"{prefix}commands has {commands} partitions but {prefix}executions has {executions}: "
            "they must match (both are keyed by execution id)"
        )


def create_topics(
    bootstrap: str, prefix: str = "hw.", partitions: int = 6, replication: int = 1,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Synchronous `create_topics_async`, for the CLI and test fixtures."""
    return asyncio.run(create_topics_async(bootstrap, prefix, partitions, replication,
                                           client_options))
