"""Publishing to the engine from outside it: definitions to `hw.definitions`, commands to
`hw.commands`. Used by the CLI (`deploy`, `run`) and by `headwater up` for the examples."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaProducer

from schemas.codec import Codec, DecodeError
from schemas.commands import StartExecution
from schemas.definition_events import DefinitionPublished, content_checksum
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.validation import Definition, ValidationReport, parse_text, validate_definition

if TYPE_CHECKING:
    from projections.store import ViewStore
    from projections.views.definitions import DefinitionRecord


def validate_files(files: Iterable[Path]) -> list[tuple[Path, ValidationReport]]:
    """Each file with its validation report (unparsable text becomes a `parse_error`)."""
    return [(file, _validate(file)) for file in files]


def _validate(file: Path) -> ValidationReport:
    from schemas.validation import Problem

    try:
        return validate_definition(parse_text(file.read_bytes()))
    except ValueError as exc:
        return ValidationReport(errors=[Problem("$", "parse_error", str(exc))])


def published_event(definition: Definition, by: str | None, now: datetime,
                    reason: str = "") -> DefinitionPublished:
    """The `hw.definitions` record announcing `definition`."""
    body: dict[str, Any] = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    checksum = content_checksum(definition)
    return DefinitionPublished(kind="rule" if definition.kind == "rule" else "workflow", definition_id=definition.id, version=definition.version,
                               definition=body, status=definition.status, published_at=now,
                               published_by=by, checksum=checksum, reason=reason)


class Publisher:
    """An idempotent producer that speaks the engine's wire format."""

    def __init__(self, bootstrap: str, prefix: str = "hw.",
                 kafka_options: Mapping[str, Any] | None = None) -> None:
        self.codec = Codec(prefix=prefix)
        self.prefix = prefix
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                          enable_idempotence=True, **(kafka_options or {}))

    async def __aenter__(self) -> Publisher:
        await self._producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._producer.stop()

    async def definitions(self, definitions: Sequence[Definition], by: str | None = None,
                          reason: str = "") -> list[str]:
        """Publish every definition (``reason``: why, kept in its history); return their keys
        (`<kind>:<id>@<version>`)."""
        topic = f"{self.prefix}definitions"
        now = datetime.now(UTC)
        keys = []
        for definition in definitions:
            event = published_event(definition, by, now, reason)
            await self._producer.send_and_wait(topic, self.codec.encode_value(topic, event),
                                               key=self.codec.encode_key(topic, event.key))
            keys.append(event.key)
        return keys

    async def start(self, workflow_id: str, payload: dict[str, Any], version: str | None = None,
                    execution_id: str | None = None, by: str | None = None,
                    trigger_type: str = "manual", priority: str = "normal") -> str:
        """Ask for a new execution of `workflow_id`; return its execution id.

        The command id is derived from the execution id, so re-sending the same start (same
        `execution_id`) is harmless: the engine applies it once.
        """
        topic = f"{self.prefix}commands"
        execution_id = execution_id or f"{workflow_id}-{uuid.uuid4().hex[:12]}"
        command = StartExecution(command_id=f"start:{execution_id}", execution_id=execution_id,
                                 time=datetime.now(UTC), workflow_id=workflow_id, version=version,
                                 input=payload, trigger_type=trigger_type, triggered_by=by,
                                 priority=priority)  # type: ignore[arg-type]
        await self._producer.send_and_wait(topic, self.codec.encode_value(topic, command),
                                           key=self.codec.encode_key(topic, execution_id))
        return execution_id


async def read_definition_view(bootstrap: str, prefix: str, kind: str, definition_id: str,
                                 kafka_options: Mapping[str, Any] | None = None,
                                 ) -> ViewStore:
    """What the definitions topic says of one workflow or rule (its record and each version's
    body): read to its end and folded the way the API's view folds it (the topic is compacted
    and small)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from projections.store import MemoryStore
    from projections.views import fold

    topic, codec = f"{prefix}definitions", Codec(prefix=prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, **(kafka_options or {}))
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        events: list[Any] = []
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    try:
                        event = codec.decode_value(topic, record.value)
                    except DecodeError:
                        continue  # the engine dead-letters it; it defines nothing
                    if getattr(event, "definition_id", None) == definition_id:
                        events.append(event)
    finally:
        await consumer.stop()
    store = MemoryStore()
    store.write(fold(store, events))
    return store


async def read_definition_record(bootstrap: str, prefix: str, kind: str, definition_id: str,
                                 kafka_options: Mapping[str, Any] | None = None,
                                 ) -> DefinitionRecord | None:
    """The record of one workflow or rule as the definitions topic says it (see
    `read_definition_view`)."""
    from projections.views.definitions import read_definition

    store = await read_definition_view(bootstrap, prefix, kind, definition_id, kafka_options)
    return read_definition(store, kind, definition_id)


async def version_conflicts(bootstrap: str, prefix: str, definitions: Sequence[Definition],
                            kafka_options: Mapping[str, Any] | None = None) -> list[str]:
    """Why publishing ``definitions`` would be refused: each one whose version is published
    already with other content (the workers keep the first content published under a version,
    and dead-letter later ones), as one line naming kind, id and version."""
    found = await conflicting_versions(bootstrap, prefix, definitions, kafka_options)
    return list(found.values())


async def conflicting_versions(bootstrap: str, prefix: str, definitions: Sequence[Definition],
                               kafka_options: Mapping[str, Any] | None = None
                               ) -> dict[tuple[str, str, str], str]:
    """``version_conflicts`` by (kind, id, version)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    wanted = {(_kind(d), d.id, d.version): content_checksum(d) for d in definitions}
    topic, codec = f"{prefix}definitions", Codec(prefix=prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, **(kafka_options or {}))
    await consumer.start()
    first: dict[tuple[str, str, str], str] = {}
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    try:
                        event = codec.decode_value(topic, record.value)
                    except DecodeError:
                        continue  # the engine dead-letters it; it defines nothing
                    key = (getattr(event, "kind", ""), getattr(event, "definition_id", ""),
                           getattr(event, "version", ""))
                    if isinstance(event, DefinitionPublished) and key in wanted and key not in first:
                        first[key] = _checksum_of(event)
    finally:
        await consumer.stop()
    return {(kind, definition_id, version): f"{kind} {definition_id!r} version {version} is "
            "published already with other content: publish it under a new version"
            for (kind, definition_id, version), digest in first.items()
            if digest and digest != wanted[(kind, definition_id, version)]}


def definition_ref(definition: Definition) -> tuple[str, str, str]:
    """(kind, id, version) of a definition."""
    return _kind(definition), definition.id, definition.version


def _kind(definition: Definition) -> str:
    return "rule" if definition.kind == "rule" else "workflow"


def _checksum_of(event: DefinitionPublished) -> str:
    model = WorkflowDefinition if event.kind == "workflow" else RuleDefinition
    try:
        return content_checksum(model.model_validate(event.definition))
    except ValueError:
        return ""  # the workers refused it too: it holds no version


def example_definitions(folder: Path) -> list[Definition]:
    """Every valid definition under `folder` (recursively, YAML and JSON)."""
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
    return [r.definition for _, r in validate_files(files) if r.definition is not None]
