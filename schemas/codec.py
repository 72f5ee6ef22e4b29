"""The codec: event models <-> Kafka record bytes, in the Confluent wire format.

Every key and value is ``0x00`` (magic byte), a 4-byte big-endian schema id, then the Avro
binary body (schemaless). Values are one record of the topic's value union (see
``schemas.avro.catalogue``); free-form JSON inside records is orjson text. Records written
with an older schema id are read through Avro schema resolution (fastavro) into today's
models; the writer schema of an id is today's, any released one (``schemas/avro/releases``,
so every record any release wrote stays readable), or else the registry's. Records of today's
schemas are written and read by compiled writers and readers (``schemas.codec_topic``), with
fastavro as the reference they fall back to.

Anything undecodable raises one error, ``DecodeError``, naming the topic, partition, offset
and a reason code, which is all the dead-letter path needs.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import orjson
from fastavro import parse_schema
from pydantic import BaseModel, ValidationError

from schemas.avro import model_decoder
from schemas.avro.catalogue import CATALOGUE, key_schema, value_schema
from schemas.avro.release import known_schema
from schemas.codec_errors import CodecError, DecodeError, DecodeReason, EncodeError
from schemas.codec_topic import HEADER, MAGIC_BYTE, TopicCodec, Where, branch_at, read_body
from schemas.registry import (
    SchemaRegistry,
    SchemaRegistryError,
    subject_name,
)
from schemas.registry_http import default_registry
from schemas.triggers import (
    InvalidTrigger,
    TriggerEvent,
    TriggerFields,
    parse_kafka,
    trigger_fields,
)

__all__ = [
    "MAGIC_BYTE",
    "Codec",
    "CodecError",
    "DecodeError",
    "DecodeReason",
    "EncodeError",
    "TriggerFields",
]


class Codec:
    """Encodes and decodes the keys and values of headwater's topics.

    Args:
        registry: Where schema ids come from; by default the Confluent-API registry at
            ``$HEADWATER_SCHEMA_REGISTRY_URL`` if set (``schemas.registry_http``), else an
            ``InMemorySchemaRegistry`` (fingerprint ids).
        prefix: The topic prefix (``hw.`` by default); a topic is ``<prefix><role>``, and
            ``<prefix><role>.<anything>`` (e.g. one task topic per task type) reads as the role.

    Example:
        >>> codec = Codec()
        >>> data = codec.encode_value("hw.tasks", task)            # doctest: +SKIP
        >>> codec.decode_value("hw.tasks", data, partition=0, offset=7) == task  # doctest: +SKIP
        True
    """

    def __init__(self, registry: SchemaRegistry | None = None, *, prefix: str = "hw.") -> None:
        self.registry: SchemaRegistry = registry if registry is not None else default_registry()
        self.prefix = prefix
        self._roles: dict[str, TopicCodec] = {}
        self._topics: dict[str, TopicCodec] = {}
        self._writer_schemas: dict[int, Any] = {}

    def role_of(self, topic: str) -> str | None:
        """The catalogue role a topic name belongs to, or None if it is none of ours."""
        if not topic.startswith(self.prefix):
            return None
        rest = topic[len(self.prefix) :]
        while rest:
            if rest in CATALOGUE:
                return rest
            rest = rest.rpartition(".")[0]
        return None

    def _topic(self, topic: str) -> TopicCodec:
        codec = self._topics.get(topic)
        if codec is None:
            role = self.role_of(topic)
            if role is None:
                raise KeyError(topic)
            if role not in self._roles:
                self._roles[role] = TopicCodec.build(CATALOGUE[role])
            codec = self._register(topic, self._roles[role])
            self._topics[topic] = codec
        return codec

    def _register(self, topic: str, shared: TopicCodec) -> TopicCodec:
        role = shared.schemas.role
        value_id = self.registry.register(
            subject_name(topic, is_key=False), orjson.dumps(value_schema(role)).decode()
        )
        key_id = self.registry.register(
            subject_name(topic, is_key=True), orjson.dumps(key_schema(role)).decode()
        )
        self._writer_schemas[value_id] = shared.value_schema
        self._writer_schemas[key_id] = shared.key_schema
        return shared.named(value_id, key_id)

    def encode_value(self, topic: str, event: BaseModel) -> bytes:
        """The record value for ``event`` on ``topic``.

        Raises:
            EncodeError: ``event`` is not an event type of the topic, or holds a value Avro
                or JSON cannot carry (e.g. an integer beyond 64 bits).
        """
        return self._topic_for_encoding(topic).write_value(topic, event)

    def encode_key(self, topic: str, key: str | bytes | None) -> bytes | None:
        """The record key for ``key`` on ``topic``; None stays None (Kafka's null key).

        Raises:
            EncodeError: The topic is unknown or the key has the wrong type.
        """
        if key is None:
            return None
        return self._topic_for_encoding(topic).write_key(topic, key)

    def _topic_for_encoding(self, topic: str) -> TopicCodec:
        try:
            return self._topic(topic)
        except KeyError:
            raise EncodeError(
                f"{topic} is not a headwater topic (prefix {self.prefix!r})"
            ) from None

    def decode_value(
        self, topic: str, data: bytes | None, *, partition: int = -1, offset: int = -1
    ) -> BaseModel:
        """The event in a record value read from ``topic``.

        Raises:
            DecodeError: For any reason the bytes are not an event of this topic.
        """
        where = (topic, partition, offset)
        codec = self._topic_for_decoding(where)
        fast = codec.read_fast(data) if data is not None else None
        if fast is None:
            name, record = self._read(where, data, codec.value_schema, codec.branches)
        else:
            name, record = fast
        model = codec.models.get(name) if name else _only(codec.models.values(), record)
        if model is None:
            raise DecodeError(*where, DecodeReason.UNKNOWN_EVENT_TYPE, f"{name} is not known here")
        try:
            return model.model_validate(model_decoder(model)(record))
        except (ValidationError, orjson.JSONDecodeError) as exc:
            raise DecodeError(*where, DecodeReason.INVALID_RECORD, str(exc)) from None

    def decode_key(
        self, topic: str, data: bytes | None, *, partition: int = -1, offset: int = -1
    ) -> str | bytes | None:
        """The key in a record key read from ``topic``; None stays None.

        Raises:
            DecodeError: For any reason the bytes are not a key of this topic.
        """
        if data is None:
            return None
        where = (topic, partition, offset)
        codec = self._topic_for_decoding(where)
        key = codec.read_key_fast(data)
        if key is None:
            _, key = self._read(where, data, codec.key_schema)
        if not isinstance(key, str | bytes):
            raise DecodeError(*where, DecodeReason.SCHEMA_MISMATCH, "not a key schema")
        return key

    def decode_trigger(
        self,
        topic: str,
        headers: Iterable[tuple[str, bytes | None]],
        data: bytes | None,
        *,
        partition: int = -1,
        offset: int = -1,
    ) -> TriggerEvent:
        """A trigger in any form producers may send: Avro, or a CloudEvent in structured or
        binary content mode (chosen by the headers, per the CloudEvents Kafka binding).

        Raises:
            DecodeError: The record is none of these (reason ``invalid_cloudevent`` names the
                attribute at fault).
        """
        headers = list(headers)
        names = {name.lower() for name, _ in headers}
        cloudevent = "ce_specversion" in names or "content-type" in names
        if not cloudevent and data and data[:1] == b"{":
            headers.append(("content-type", b"application/cloudevents+json"))
            cloudevent = True  # structured JSON without its header: accepted, it is unambiguous
        try:
            if cloudevent:
                return parse_kafka(headers, data)
        except InvalidTrigger as exc:
            raise DecodeError(
                topic, partition, offset, DecodeReason.INVALID_CLOUDEVENT, str(exc)
            ) from None
        event = self.decode_value(topic, data, partition=partition, offset=offset)
        assert isinstance(event, TriggerEvent)  # the triggers union holds only TriggerEvent
        return event

    def decode_trigger_fields(
        self,
        topic: str,
        headers: Iterable[tuple[str, bytes | None]],
        data: bytes | None,
        *,
        partition: int = -1,
        offset: int = -1,
    ) -> TriggerFields:
        """A trigger as the rules read it: ``decode_trigger(...).as_dict()`` and its time.

        The hot path of the trigger agent. An Avro record written with this codec's own
        schema for ``topic`` is read by a reader compiled for that schema and checked for what
        the model checks, without building the model (a few µs instead of ~80). Anything
        else (CloudEvents, an older writer schema, a record the quick checks doubt) takes
        ``decode_trigger``, so results and errors are exactly its own.

        Raises:
            DecodeError: As ``decode_trigger``.
        """
        codec = self._topics.get(topic)
        if (
            codec is not None
            and codec.fast_reader is not None
            and data
            and data.startswith(codec.value_header)
            and not (headers and _is_cloudevent(headers))
        ):
            reader = codec.fast_reader
            try:
                # A single-branch union: index 0 is the byte 0x00.
                if data[HEADER.size] == 0:
                    record, end = reader(data, HEADER.size + 1)
                    fields = trigger_fields(record) if end == len(data) else None
                    if fields is not None:
                        return fields
            except Exception:  # the full path below names the fault
                pass
        event = self.decode_trigger(topic, headers, data, partition=partition, offset=offset)
        return TriggerFields(event.as_dict(), event.time)

    def _topic_for_decoding(self, where: Where) -> TopicCodec:
        try:
            return self._topic(where[0])
        except KeyError:
            raise DecodeError(
                *where,
                DecodeReason.UNKNOWN_TOPIC,
                f"not a headwater topic (prefix {self.prefix!r})",
            ) from None

    def _read(
        self,
        where: Where,
        data: bytes | None,
        reader: Any,
        branches: list[tuple[str, Any]] | None = None,
    ) -> tuple[str | None, Any]:
        if data is None:
            raise DecodeError(*where, DecodeReason.NULL_VALUE, "a null value (tombstone)")
        if len(data) < HEADER.size:
            raise DecodeError(*where, DecodeReason.TRUNCATED, f"{len(data)} bytes, no header")
        magic, schema_id = HEADER.unpack_from(data)
        if magic != MAGIC_BYTE:
            raise DecodeError(*where, DecodeReason.UNKNOWN_MAGIC_BYTE, f"magic byte {magic}")
        writer = self._writer_schema(where, schema_id)
        buffer = io.BytesIO(data)
        buffer.seek(HEADER.size)
        if branches and writer is reader:
            name, branch = branch_at(where, buffer, branches)
            datum: Any = (name, read_body(where, buffer, branch, branch))
        else:
            datum = read_body(where, buffer, writer, reader)
        if buffer.tell() != len(data):
            raise DecodeError(
                *where,
                DecodeReason.CORRUPT,
                f"{len(data) - buffer.tell()} trailing bytes after the record",
            )
        if isinstance(datum, tuple):
            return datum[0], datum[1]
        if isinstance(writer, list) and len(writer) == 1 and isinstance(writer[0], dict):
            # fastavro names no branch of a one-record union; the reader's union may have grown
            return str(writer[0]["name"]), datum
        return None, datum

    def _writer_schema(self, where: Where, schema_id: int) -> Any:
        writer = self._writer_schemas.get(schema_id)
        if writer is None:
            writer = known_schema(schema_id)  # a released build's schema: readable forever
        if writer is None:
            try:
                writer = parse_schema(orjson.loads(self.registry.get_schema(schema_id)))
            except SchemaRegistryError as exc:
                raise DecodeError(
                    *where, DecodeReason.UNKNOWN_SCHEMA_ID, f"schema id {schema_id}: {exc.message}"
                ) from None
            self._writer_schemas[schema_id] = writer
        return writer


def _is_cloudevent(headers: Iterable[tuple[str, bytes | None]]) -> bool:
    return any(name.lower() in ("ce_specversion", "content-type") for name, _ in headers)


def _only(models: Iterable[type[BaseModel]], record: Any) -> type[BaseModel] | None:
    """The model of a record whose writer schema named no union branch: the only model, or
    the one its ``type`` field names (a topic that had one event type when it was written
    and has more now: its old records are a one-branch union)."""
    listed = list(models)
    if len(listed) == 1:
        return listed[0]
    kind = record.get("type") if isinstance(record, dict) else None
    found = [m for m in listed if kind is not None and m.model_fields.get("type") is not None
             and m.model_fields["type"].default == kind]
    return found[0] if len(found) == 1 else None
