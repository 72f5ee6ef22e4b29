"""The codec: event models <-> Kafka record bytes, in the Confluent wire format.

Every key and value is ``0x00`` (magic byte), a 4-byte big-endian schema id, then the Avro
binary body (fastavro, schemaless). Values are one record of the topic's value union (see
``schemas.avro.catalogue``); free-form JSON inside records is orjson text. Records written
with an older schema id are read through Avro schema resolution into today's models.

Anything undecodable raises one error, ``DecodeError``, naming the topic, partition, offset
and a reason code, which is all the dead-letter path needs.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import expand_schema
from pydantic import BaseModel, ValidationError

from schemas.avro import model_decoder, model_encoder
from schemas.avro.catalogue import CATALOGUE, TopicSchemas, key_schema, value_schema
from schemas.registry import (
    InMemorySchemaRegistry,
    SchemaRegistry,
    SchemaRegistryError,
    subject_name,
)
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

MAGIC_BYTE: Final = 0
_HEADER = struct.Struct(">bI")


class DecodeReason:
    """The reason codes of ``DecodeError`` (also the dead letter's ``reason``)."""

    NULL_VALUE: Final = "null_value"
    TRUNCATED: Final = "truncated"
    UNKNOWN_MAGIC_BYTE: Final = "unknown_magic_byte"
    UNKNOWN_SCHEMA_ID: Final = "unknown_schema_id"
    SCHEMA_MISMATCH: Final = "schema_mismatch"
    CORRUPT: Final = "corrupt"
    UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
    INVALID_RECORD: Final = "invalid_record"
    INVALID_CLOUDEVENT: Final = "invalid_cloudevent"
    UNKNOWN_TOPIC: Final = "unknown_topic"


class CodecError(Exception):
    """Base of the codec's errors."""


class EncodeError(CodecError):
    """A model cannot be written to a topic (wrong topic, or a value Avro cannot hold)."""


class DecodeError(CodecError):
    """A record's bytes cannot be turned into an event.

    Attributes:
        topic: The topic the bytes came from.
        partition: Their partition (-1 if unknown).
        offset: Their offset (-1 if unknown).
        reason: One of the ``DecodeReason`` codes.
        detail: A human-readable explanation.
    """

    def __init__(self, topic: str, partition: int, offset: int, reason: str, detail: str = "") -> None:
        self.topic, self.partition, self.offset = topic, partition, offset
        self.reason, self.detail = reason, detail
        super().__init__(f"cannot decode {topic}[{partition}]@{offset}: {reason}"
                         + (f": {detail}" if detail else ""))


@dataclass
class _TopicCodec:
    """Everything needed to read and write one topic, prepared once."""

    schemas: TopicSchemas
    value_schema: Any
    key_schema: Any
    writers: dict[type[BaseModel], _Branch] = field(default_factory=dict)
    models: dict[str, type[BaseModel]] = field(default_factory=dict)
    branches: list[tuple[str, Any]] = field(default_factory=list)
    value_header: bytes = b""
    key_header: bytes = b""
    fast_reader: Any = None

    @classmethod
    def build(cls, schemas: TopicSchemas) -> _TopicCodec:
        union = value_schema(schemas.role)
        codec = cls(schemas, parse_schema(union), parse_schema(key_schema(schemas.role)))
        # Each branch on its own, fully expanded: writing "union index + branch" by hand is
        # byte-identical to writing the union and several times faster for big unions, as
        # fastavro then skips matching the branch and loading every named type per call.
        expanded = expand_schema(parse_schema(union, _write_hint=False))
        for index, (model, branch) in enumerate(zip(schemas.events, expanded, strict=True)):
            fullname = f"{schemas.namespace}.{model.__name__}"
            branch_schema = parse_schema(branch)
            codec.writers[model] = _Branch(fullname, _varint(index), branch_schema,
                                           model_encoder(model, schemas.namespace))
            codec.models[fullname] = model
            codec.branches.append((fullname, branch_schema))
        if len(expanded) == 1:
            codec.fast_reader = _compile_reader(expanded[0])
        return codec


@dataclass(frozen=True)
class _Branch:
    """How to write one event type: its union index (encoded) and its own schema."""

    fullname: str
    index: bytes
    schema: Any
    encode: Any


def _varint(index: int) -> bytes:
    """Avro's zig-zag varint of a non-negative int (a union index)."""
    value, out = index << 1, bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


class Codec:
    """Encodes and decodes the keys and values of headwater's topics.

    Args:
        registry: Where schema ids come from; an ``InMemorySchemaRegistry`` by default.
        prefix: The topic prefix (``hw.`` by default); a topic is ``<prefix><role>``, and
            ``<prefix><role>.<anything>`` (e.g. one task topic per task type) reads as the role.

    Example:
        >>> codec = Codec()
        >>> data = codec.encode_value("hw.tasks", task)            # doctest: +SKIP
        >>> codec.decode_value("hw.tasks", data, partition=0, offset=7) == task  # doctest: +SKIP
        True
    """

    def __init__(self, registry: SchemaRegistry | None = None, *, prefix: str = "hw.") -> None:
        self.registry: SchemaRegistry = registry if registry is not None else InMemorySchemaRegistry()
        self.prefix = prefix
        self._roles: dict[str, _TopicCodec] = {}
        self._topics: dict[str, _TopicCodec] = {}
        self._writer_schemas: dict[int, Any] = {}

    def role_of(self, topic: str) -> str | None:
        """The catalogue role a topic name belongs to, or None if it is none of ours."""
        if not topic.startswith(self.prefix):
            return None
        rest = topic[len(self.prefix):]
        while rest:
            if rest in CATALOGUE:
                return rest
            rest = rest.rpartition(".")[0]
        return None

    def _topic(self, topic: str) -> _TopicCodec:
        codec = self._topics.get(topic)
        if codec is None:
            role = self.role_of(topic)
            if role is None:
                raise KeyError(topic)
            if role not in self._roles:
                self._roles[role] = _TopicCodec.build(CATALOGUE[role])
            codec = self._register(topic, self._roles[role])
            self._topics[topic] = codec
        return codec

    def _register(self, topic: str, shared: _TopicCodec) -> _TopicCodec:
        role = shared.schemas.role
        value_id = self.registry.register(subject_name(topic, is_key=False),
                                          orjson.dumps(value_schema(role)).decode())
        key_id = self.registry.register(subject_name(topic, is_key=True),
                                        orjson.dumps(key_schema(role)).decode())
        self._writer_schemas[value_id] = shared.value_schema
        self._writer_schemas[key_id] = shared.key_schema
        return _TopicCodec(shared.schemas, shared.value_schema, shared.key_schema, shared.writers,
                           shared.models, shared.branches, _HEADER.pack(MAGIC_BYTE, value_id),
                           _HEADER.pack(MAGIC_BYTE, key_id), shared.fast_reader)

    def encode_value(self, topic: str, event: BaseModel) -> bytes:
        """The record value for ``event`` on ``topic``.

        Raises:
            EncodeError: ``event`` is not an event type of the topic, or holds a value Avro
                or JSON cannot carry (e.g. an integer beyond 64 bits).
        """
        codec = self._topic_for_encoding(topic)
        writer = codec.writers.get(type(event))
        if writer is None:
            raise EncodeError(f"{type(event).__name__} is not an event of topic {topic}")
        buffer = io.BytesIO()
        buffer.write(codec.value_header)
        buffer.write(writer.index)
        try:
            schemaless_writer(buffer, writer.schema, writer.encode(event))
        except (ValueError, TypeError, OverflowError, orjson.JSONEncodeError) as exc:
            raise EncodeError(f"cannot encode {writer.fullname} for {topic}: {exc}") from exc
        return buffer.getvalue()

    def encode_key(self, topic: str, key: str | bytes | None) -> bytes | None:
        """The record key for ``key`` on ``topic``; None stays None (Kafka's null key).

        Raises:
            EncodeError: The topic is unknown or the key has the wrong type.
        """
        if key is None:
            return None
        codec = self._topic_for_encoding(topic)
        buffer = io.BytesIO()
        buffer.write(codec.key_header)
        try:
            schemaless_writer(buffer, codec.key_schema, key)
        except (ValueError, TypeError) as exc:
            raise EncodeError(f"cannot encode key {key!r} for {topic}: {exc}") from exc
        return buffer.getvalue()

    def _topic_for_encoding(self, topic: str) -> _TopicCodec:
        try:
            return self._topic(topic)
        except KeyError:
            raise EncodeError(f"{topic} is not a headwater topic (prefix {self.prefix!r})") from None

    def decode_value(self, topic: str, data: bytes | None, *, partition: int = -1,
                     offset: int = -1) -> BaseModel:
        """The event in a record value read from ``topic``.

        Raises:
            DecodeError: For any reason the bytes are not an event of this topic.
        """
        where = (topic, partition, offset)
        codec = self._topic_for_decoding(where)
        name, record = self._read(where, data, codec.value_schema, codec.branches)
        model = codec.models.get(name) if name else _only(codec.models.values())
        if model is None:
            raise DecodeError(*where, DecodeReason.UNKNOWN_EVENT_TYPE, f"{name} is not known here")
        try:
            return model.model_validate(model_decoder(model)(record))
        except (ValidationError, orjson.JSONDecodeError) as exc:
            raise DecodeError(*where, DecodeReason.INVALID_RECORD, str(exc)) from None

    def decode_key(self, topic: str, data: bytes | None, *, partition: int = -1,
                   offset: int = -1) -> str | bytes | None:
        """The key in a record key read from ``topic``; None stays None.

        Raises:
            DecodeError: For any reason the bytes are not a key of this topic.
        """
        if data is None:
            return None
        where = (topic, partition, offset)
        codec = self._topic_for_decoding(where)
        _, key = self._read(where, data, codec.key_schema)
        if not isinstance(key, str | bytes):
            raise DecodeError(*where, DecodeReason.SCHEMA_MISMATCH, "not a key schema")
        return key

    def decode_trigger(self, topic: str, headers: Iterable[tuple[str, bytes | None]],
                       data: bytes | None, *, partition: int = -1, offset: int = -1) -> TriggerEvent:
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
            raise DecodeError(topic, partition, offset, DecodeReason.INVALID_CLOUDEVENT,
                              str(exc)) from None
        event = self.decode_value(topic, data, partition=partition, offset=offset)
        assert isinstance(event, TriggerEvent)  # the triggers union holds only TriggerEvent
        return event

    def decode_trigger_fields(self, topic: str, headers: Iterable[tuple[str, bytes | None]],
                              data: bytes | None, *, partition: int = -1,
                              offset: int = -1) -> TriggerFields:
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
        if codec is not None and codec.fast_reader is not None and data and data.startswith(
            codec.value_header
        ) and not (headers and _is_cloudevent(headers)):
            reader = codec.fast_reader
            try:
                # A single-branch union: index 0 is the byte 0x00.
                if data[_HEADER.size] == 0:
                    record, end = reader(data, _HEADER.size + 1)
                    fields = trigger_fields(record) if end == len(data) else None
                    if fields is not None:
                        return fields
            except Exception:  # the full path below names the fault
                pass
        event = self.decode_trigger(topic, headers, data, partition=partition, offset=offset)
        return TriggerFields(event.as_dict(), event.time)

    def _topic_for_decoding(self, where: tuple[str, int, int]) -> _TopicCodec:
        try:
            return self._topic(where[0])
        except KeyError:
            raise DecodeError(*where, DecodeReason.UNKNOWN_TOPIC,
                              f"not a headwater topic (prefix {self.prefix!r})") from None

    def _read(self, where: tuple[str, int, int], data: bytes | None, reader: Any,
              branches: list[tuple[str, Any]] | None = None) -> tuple[str | None, Any]:
        if data is None:
            raise DecodeError(*where, DecodeReason.NULL_VALUE, "a null value (tombstone)")
        if len(data) < _HEADER.size:
            raise DecodeError(*where, DecodeReason.TRUNCATED, f"{len(data)} bytes, no header")
        magic, schema_id = _HEADER.unpack_from(data)
        if magic != MAGIC_BYTE:
            raise DecodeError(*where, DecodeReason.UNKNOWN_MAGIC_BYTE, f"magic byte {magic}")
        writer = self._writer_schema(where, schema_id)
        buffer = io.BytesIO(data)
        buffer.seek(_HEADER.size)
        if branches and writer is reader:
            name, branch = _branch_at(where, buffer, branches)
            datum: Any = (name, _read_body(where, buffer, branch, branch))
        else:
            datum = _read_body(where, buffer, writer, reader)
        if buffer.tell() != len(data):
            raise DecodeError(*where, DecodeReason.CORRUPT,
                              f"{len(data) - buffer.tell()} trailing bytes after the record")
        if isinstance(datum, tuple):
            return datum[0], datum[1]
        return None, datum

    def _writer_schema(self, where: tuple[str, int, int], schema_id: int) -> Any:
        writer = self._writer_schemas.get(schema_id)
        if writer is None:
            try:
                writer = parse_schema(orjson.loads(self.registry.get_schema(schema_id)))
            except SchemaRegistryError as exc:
                raise DecodeError(*where, DecodeReason.UNKNOWN_SCHEMA_ID,
                                  f"schema id {schema_id}: {exc.message}") from None
            self._writer_schemas[schema_id] = writer
        return writer


def _read_body(where: tuple[str, int, int], buffer: io.BytesIO, writer: Any, reader: Any) -> Any:
    try:
        return schemaless_reader(buffer, writer, None if writer is reader else reader,
                                 return_record_name=True, return_record_name_override=True)
    except EOFError:
        raise DecodeError(*where, DecodeReason.TRUNCATED, "the record ends early") from None
    except Exception as exc:
        # Untrusted bytes can make the Avro reader fail in many ways (bad union index,
        # negative length, invalid UTF-8, failed resolution); all of them mean "not ours".
        if type(exc).__name__ == "SchemaResolutionError":
            raise DecodeError(*where, DecodeReason.SCHEMA_MISMATCH,
                              "the writer's schema does not resolve to this topic's") from None
        detail = f"{type(exc).__name__}: {exc}"
        raise DecodeError(*where, DecodeReason.CORRUPT, detail[:200]) from None


def _branch_at(where: tuple[str, int, int], buffer: io.BytesIO,
               branches: list[tuple[str, Any]]) -> tuple[str, Any]:
    shift, value = 0, 0
    while True:
        byte = buffer.read(1)
        if not byte:
            raise DecodeError(*where, DecodeReason.TRUNCATED, "the record ends early")
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80 or shift > 28:
            break
        shift += 7
    index = (value >> 1) ^ -(value & 1)
    if not 0 <= index < len(branches):
        raise DecodeError(*where, DecodeReason.CORRUPT, f"union index {index} out of range")
    return branches[index]


def _is_cloudevent(headers: Iterable[tuple[str, bytes | None]]) -> bool:
    return any(name.lower() in ("ce_specversion", "content-type") for name, _ in headers)


# A reader compiled for one schema of plain types (records of strings, longs, booleans,
# nullable unions, maps, arrays): the fast path of ``decode_trigger_fields``. It trusts
# nothing: any fault raises, and the caller falls back to fastavro with full error reporting.
Reader = Callable[[bytes, int], tuple[Any, int]]


def _long(data: bytes, pos: int) -> tuple[int, int]:
    byte = data[pos]
    pos += 1
    value, shift = byte & 0x7F, 7
    while byte & 0x80:
        if shift > 63:
            raise ValueError("varint too long")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
    return (value >> 1) ^ -(value & 1), pos


def _string(data: bytes, pos: int) -> tuple[str, int]:
    size, pos = _long(data, pos)
    end = pos + size
    if size < 0 or end > len(data):
        raise ValueError("bad string length")
    return data[pos:end].decode(), end


def _boolean(data: bytes, pos: int) -> tuple[bool, int]:
    if data[pos] > 1:
        raise ValueError("bad boolean")
    return data[pos] == 1, pos + 1


def _null(data: bytes, pos: int) -> tuple[None, int]:
    return None, pos


_PRIMITIVES: dict[str, Reader] = {"string": _string, "long": _long, "int": _long,
                                  "boolean": _boolean, "null": _null}


def _compile_reader(schema: Any) -> Reader | None:
    """A reader of `schema` (timestamps come as their raw long), or None if unsupported."""
    if isinstance(schema, str):
        return _PRIMITIVES.get(schema)
    if isinstance(schema, list):
        members = [_compile_reader(member) for member in schema]
        return None if None in members else _union([m for m in members if m is not None])
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    if kind == "record":
        fields = [_field(f["name"], f["type"]) for f in schema["fields"]]
        return _record(fields) if None not in fields else None
    if kind in ("map", "array"):
        items = _compile_reader(schema["values" if kind == "map" else "items"])
        return None if items is None else _blocks(items, kind == "map")
    return _compile_reader(kind) if kind in _PRIMITIVES else None


_Field = tuple[str, bool, bool | None, Reader | None]
"""name, nullable, leaf (True: string, False: long, None: other), reader of the other."""


def _field(name: str, schema: Any) -> _Field | None:
    nullable = isinstance(schema, list) and len(schema) == 2 and schema[0] == "null"
    inner = schema[1] if nullable else schema
    kind = inner.get("type") if isinstance(inner, dict) else inner
    if kind in ("string", "long", "int"):
        return name, nullable, kind == "string", None
    reader = _compile_reader(schema)
    return None if reader is None else (name, False, None, reader)


def _union(members: list[Reader]) -> Reader:
    def read(data: bytes, pos: int) -> tuple[Any, int]:
        index, pos = _long(data, pos)
        if index < 0:
            raise ValueError("bad union index")
        return members[index](data, pos)
    return read


def _record(fields: list[_Field | None]) -> Reader:
    # Strings and longs, nullable or not, are read inline: a record is mostly those, and a
    # call per field would cost as much as the reading.
    plain = [f for f in fields if f is not None]

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        out: dict[str, Any] = {}
        for name, nullable, leaf, reader in plain:
            if nullable:
                flag = data[pos]
                pos += 1
                if flag == 0:
                    out[name] = None
                    continue
                if flag != 2:
                    raise ValueError("bad union index")
            if reader is not None:
                out[name], pos = reader(data, pos)
                continue
            byte = data[pos]
            if byte < 0x80:
                size, pos = (byte >> 1) ^ -(byte & 1), pos + 1
            else:
                size, pos = _long(data, pos)
            if not leaf:
                out[name] = size
                continue
            end = pos + size
            if size < 0 or end > len(data):
                raise ValueError("bad string length")
            out[name], pos = data[pos:end].decode(), end
        return out, pos
    return read


def _blocks(items: Reader, keyed: bool) -> Reader:
    def read(data: bytes, pos: int) -> tuple[Any, int]:
        found: list[Any] = []
        count, pos = _long(data, pos)
        while count:
            if abs(count) > len(data):
                raise ValueError("bad block count")
            if count < 0:
                count = -count
                _, pos = _long(data, pos)  # the block's size in bytes
            for _ in range(count):
                if keyed:
                    key, pos = _string(data, pos)
                    value, pos = items(data, pos)
                    found.append((key, value))
                else:
                    value, pos = items(data, pos)
                    found.append(value)
            count, pos = _long(data, pos)
        return (dict(found) if keyed else found), pos
    return read


def _only(models: Iterable[type[BaseModel]]) -> type[BaseModel] | None:
    listed = list(models)
    return listed[0] if len(listed) == 1 else None
