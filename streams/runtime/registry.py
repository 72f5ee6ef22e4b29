"""The definitions registry: every workflow and rule version published on `hw.definitions`.

`DefinitionRegistry` is the in-memory index (no I/O); `DefinitionsFeed` keeps one current by
reading the compacted topic from the beginning on every worker, outside any consumer group,
because each worker needs the whole set and not a share of its partitions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from schemas.codec import Codec, DecodeError
from schemas.definition_events import (
    DefinitionPublished,
    DefinitionStatusChanged,
    content_checksum,
)
from schemas.definitions import RuleDefinition, WorkflowDefinition, parse_version, version_matches
from streams.machine import Plan, compile_plan
from streams.runtime.dead_letters import DeadLetterSink, Record

__all__ = ["DefinitionConflict", "DefinitionRegistry", "DefinitionsFeed", "Entry", "partitions_of"]

log = logging.getLogger(__name__)


@dataclass
class Entry:
    """One published definition version and its current status."""

    definition: WorkflowDefinition | RuleDefinition
    status: str
    checksum: str = ""
    _plan: Plan | None = field(default=None, repr=False)

    def plan(self) -> Plan:
        """The compiled plan of a workflow (compiled once, on first use)."""
        assert isinstance(self.definition, WorkflowDefinition)
        if self._plan is None:
            self._plan = compile_plan(self.definition)
        return self._plan


class DefinitionConflict(Exception):
    """A version already published is published again with other content (the first stays)."""

    def __init__(self, kind: str, definition_id: str, version: str) -> None:
        super().__init__(f"{kind} {definition_id!r} version {version} is already published with "
                         "other content; the first is kept (publish a new version)")
        self.kind, self.definition_id, self.version = kind, definition_id, version


class DefinitionRegistry:
    """Workflow and rule versions by id, as of the definition events applied so far.

    A published version is immutable: the first content published under a version is the one
    running executions see. Publishing it again with the same content changes nothing (its
    status stays: each `headwater up` re-deploys the examples without re-activating the ones a
    user paused); with other content it is refused (`DefinitionConflict`).
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], dict[str, Entry]] = {}
        self.changes = 0  # bumped on every applied change, so readers can tell it moved

    def apply(self, event: DefinitionPublished | DefinitionStatusChanged) -> None:
        """Apply one event of `hw.definitions`.

        Raises:
            pydantic.ValidationError: A published definition does not validate.
            DefinitionConflict: The version is published already with other content.
        """
        versions = self._entries.setdefault((event.kind, event.definition_id), {})
        if isinstance(event, DefinitionPublished):
            model = WorkflowDefinition if event.kind == "workflow" else RuleDefinition
            definition = model.model_validate(event.definition)
            digest = content_checksum(definition)
            known = versions.get(event.version)
            if known is not None:
                if known.checksum != digest:
                    raise DefinitionConflict(event.kind, event.definition_id, event.version)
                return  # the same content again: nothing changes, the status stays
            versions[event.version] = Entry(definition, event.status, digest)
        elif event.version in versions:
            versions[event.version].status = event.status
        self.changes += 1

    def workflow(self, workflow_id: str, version: str | None = None) -> Entry | None:
        """A workflow version: an exact version or a range; None means the newest active one.

        An exact version is found whatever its status, so that executions already running
        on a paused or deprecated version can finish.
        """
        versions = self._entries.get(("workflow", workflow_id), {})
        if version is not None and version in versions:
            return versions[version]
        candidates = [v for v, e in versions.items() if e.status == "active"
                      and (version is None or _matches(v, version))]
        if not candidates:
            return None
        return versions[max(candidates, key=parse_version)]

    def owner(self, kind: str, definition_id: str) -> str | None:
        """The owner its newest version names (None: unowned or unknown)."""
        versions = self._entries.get((kind, definition_id), {})
        if not versions:
            return None
        newest = versions[max(versions, key=parse_version)].definition
        return newest.owner

    def rule(self, rule_id: str) -> RuleDefinition | None:
        """The newest version of a rule, whatever its status (a call it queued before being
        paused still runs)."""
        versions = self._entries.get(("rule", rule_id), {})
        if not versions:
            return None
        definition = versions[max(versions, key=parse_version)].definition
        return definition if isinstance(definition, RuleDefinition) else None

    def rules(self) -> list[RuleDefinition]:
        """The newest active version of every rule."""
        found = self._newest_active("rule")
        assert all(isinstance(d, RuleDefinition) for d in found)
        return found  # type: ignore[return-value]

    def workflows(self) -> list[WorkflowDefinition]:
        """The newest active version of every workflow (for event and schedule triggers)."""
        found = self._newest_active("workflow")
        assert all(isinstance(d, WorkflowDefinition) for d in found)
        return found  # type: ignore[return-value]

    def _newest_active(self, wanted: str) -> list[WorkflowDefinition | RuleDefinition]:
        found: list[WorkflowDefinition | RuleDefinition] = []
        for (kind, _), versions in self._entries.items():
            active = [v for v, e in versions.items() if kind == wanted and e.status == "active"]
            if active:
                found.append(versions[max(active, key=parse_version)].definition)
        return found


def _matches(version: str, range_: str) -> bool:
    try:
        return version_matches(version, range_)
    except ValueError:
        return False


class DefinitionsFeed:
    """Reads `hw.definitions` from the beginning, forever, into a `DefinitionRegistry`.

    Args:
        bootstrap: Kafka bootstrap servers.
        topic: The definitions topic.
        codec: The codec for its records.
        dead_letters: Where records that do not decode or validate go.
    """

    def __init__(self, bootstrap: str, topic: str, codec: Codec, dead_letters: DeadLetterSink,
                 client_options: Mapping[str, Any] | None = None) -> None:
        self.registry = DefinitionRegistry()
        self._bootstrap = bootstrap
        self._options = dict(client_options or {})
        self._topic, self._codec, self._dead = topic, codec, dead_letters
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                          group_id=None, auto_offset_reset="earliest",
                                          **self._options)
        self._partitions: list[TopicPartition] = []
        self._positions: dict[TopicPartition, int] = {}
        self._moved = asyncio.Condition()

    async def start(self) -> None:
        """Connect and assign every partition of the topic, from the beginning."""
        found = await partitions_of(self._bootstrap, self._topic, self._options)
        await self._consumer.start()
        self._partitions = [TopicPartition(self._topic, p) for p in sorted(found)]
        self._consumer.assign(self._partitions)
        await self._consumer.seek_to_beginning(*self._partitions)

    async def stop(self) -> None:
        """Disconnect."""
        await self._consumer.stop()

    async def run(self) -> None:
        """Apply records as they come (runs until cancelled)."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=1000)
            for records in batches.values():
                for record in records:
                    await self._apply(record)
            for tp in self._partitions:
                self._positions[tp] = await self._consumer.position(tp)
            async with self._moved:
                self._moved.notify_all()

    async def _apply(self, record: Record) -> None:
        if record.value is None:
            return  # a tombstone: compaction already forgot the version
        try:
            event = self._codec.decode_value(record.topic, record.value,
                                             partition=record.partition, offset=record.offset)
            if isinstance(event, DefinitionPublished | DefinitionStatusChanged):
                self.registry.apply(event)  # others (comments) define nothing to run
        except DecodeError as exc:
            await self._dead.refuse(record, exc.reason, exc.detail, "definitions")
        except ValidationError as exc:
            await self._dead.refuse(record, "invalid_definition", str(exc)[:2000], "definitions")
        except DefinitionConflict as exc:
            await self._dead.refuse(record, "definition_version_conflict", str(exc), "definitions")
        except Exception as exc:  # a definition no check foresaw must not stop every worker
            log.error("definition at %s:%d refused", record.partition, record.offset, exc_info=exc)
            await self._dead.refuse(record, "invalid_definition",
                                    f"{type(exc).__name__}: {exc}"[:2000], "definitions")

    async def sync(self) -> None:
        """Wait until every record on the topic now is applied (read-your-writes)."""
        ends = await self._consumer.end_offsets(self._partitions)
        async with self._moved:
            await self._moved.wait_for(
                lambda: all(self._positions.get(tp, -1) >= end for tp, end in ends.items()))


async def partitions_of(bootstrap: str, topic: str,
                        client_options: Mapping[str, Any] | None = None) -> list[int]:
    """The partition numbers of `topic` (`client_options`: aiokafka's security arguments).

    Raises:
        RuntimeError: The topic does not exist.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **(client_options or {}))
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    found = [p["partition"] for d in described if d["topic"] == topic and not d["error_code"]
             for p in d["partitions"]]
    if not found:
        raise RuntimeError(f"topic {topic} does not exist (create it with `headwater topics`)")
    return sorted(found)
