"""One topic's codec, prepared once: schemas, per-branch writers and readers, wire headers.

Values are one record of the topic's union. Each branch is prepared on its own, fully
expanded: writing "union index + branch" by hand is byte-identical to writing the union and
much faster, as nothing has to match the branch or load named types per call. The compiled
writers and readers (`schemas.codec_writer`, `schemas.codec_reader`) are the hot path; fastavro
is the reference they fall back to for anything they do not take, so errors stay its own.
"""

from __future__ import annotations

import dataclasses
import io
import struct
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import expand_schema
from pydantic import BaseModel

from schemas.avro import ModelEncoder, model_encoder
from schemas.avro.catalogue import TopicSchemas, key_schema, value_schema
from schemas.codec_errors import DecodeError, DecodeReason, EncodeError
from schemas.codec_reader import Reader, compile_reader
from schemas.codec_writer import Writer, compile_writer, put_long

__all__ = ["HEADER", "MAGIC_BYTE", "Branch", "TopicCodec", "branch_at", "read_body"]

MAGIC_BYTE: Final = 0
HEADER = struct.Struct(">bI")
Where = tuple[str, int, int]
"""Topic, partition, offset: what a `DecodeError` names."""


@dataclass(frozen=True)
class Branch:
    """How to write one event type: its union index (encoded), its schema and writers."""

    fullname: str
    index: bytes
    schema: Any
    encode: ModelEncoder
    write: Writer | None


@dataclass
class TopicCodec:
    """Everything needed to read and write one topic (headers are set per topic name)."""

    schemas: TopicSchemas
    value_schema: Any
    key_schema: Any
    key_writer: Writer | None = None
    key_reader: Reader | None = None
    writers: dict[type[BaseModel], Branch] = field(default_factory=dict)
    models: dict[str, type[BaseModel]] = field(default_factory=dict)
    branches: list[tuple[str, Any]] = field(default_factory=list)
    readers: list[tuple[str, Reader | None]] = field(default_factory=list)
    value_header: bytes = b""
    key_header: bytes = b""
    fast_reader: Reader | None = None

    @classmethod
    def build(cls, schemas: TopicSchemas) -> TopicCodec:
        """Prepare the codec of a catalogue role (schemas parsed, writers and readers compiled)."""
        union = value_schema(schemas.role)
        keys = parse_schema(key_schema(schemas.role))
        codec = cls(schemas, parse_schema(union), keys, compile_writer(keys), compile_reader(keys))
        expanded = expand_schema(parse_schema(union, _write_hint=False))
        for index, (model, branch) in enumerate(zip(schemas.events, expanded, strict=True)):
            fullname = f"{schemas.namespace}.{model.__name__}"
            branch_schema = parse_schema(branch)
            codec.writers[model] = Branch(
                fullname,
                _varint(index),
                branch_schema,
                model_encoder(model, schemas.namespace),
                compile_writer(branch),
            )
            codec.models[fullname] = model
            codec.branches.append((fullname, branch_schema))
            codec.readers.append((fullname, compile_reader(branch)))
        if len(expanded) == 1:
            codec.fast_reader = compile_reader(expanded[0], raw_timestamps=True)
        return codec

    def named(self, value_id: int, key_id: int) -> TopicCodec:
        """This codec for one topic name, whose schemas are registered under these ids."""
        return dataclasses.replace(
            self,
            value_header=HEADER.pack(MAGIC_BYTE, value_id),
            key_header=HEADER.pack(MAGIC_BYTE, key_id),
        )

    def write_value(self, topic: str, event: BaseModel) -> bytes:
        """The record value of ``event`` (header, union index, body).

        Raises:
            EncodeError: Not an event of this topic, or a value Avro or JSON cannot carry.
        """
        branch = self.writers.get(type(event))
        if branch is None:
            raise EncodeError(f"{type(event).__name__} is not an event of topic {topic}")
        try:
            datum = branch.encode(event)
        except (ValueError, TypeError, OverflowError, orjson.JSONEncodeError) as exc:
            raise EncodeError(f"cannot encode {branch.fullname} for {topic}: {exc}") from exc
        if branch.write is not None:
            out = bytearray(self.value_header)
            out += branch.index
            try:
                branch.write(out, datum)
                return bytes(out)
            except Exception:  # fastavro below writes it or names the fault
                pass
        buffer = io.BytesIO()
        buffer.write(self.value_header)
        buffer.write(branch.index)
        try:
            schemaless_writer(buffer, branch.schema, datum)
        except (ValueError, TypeError, OverflowError) as exc:
            raise EncodeError(f"cannot encode {branch.fullname} for {topic}: {exc}") from exc
        return buffer.getvalue()

    def write_key(self, topic: str, key: str | bytes) -> bytes:
        """The record key of ``key`` (header, body).

        Raises:
            EncodeError: The key has the wrong type for this topic.
        """
        if self.key_writer is not None:
            out = bytearray(self.key_header)
            try:
                self.key_writer(out, key)
                return bytes(out)
            except Exception:  # fastavro below writes it or names the fault
                pass
        buffer = io.BytesIO()
        buffer.write(self.key_header)
        try:
            schemaless_writer(buffer, self.key_schema, key)
        except (ValueError, TypeError) as exc:
            raise EncodeError(f"cannot encode key {key!r} for {topic}: {exc}") from exc
        return buffer.getvalue()

    def read_fast(self, data: bytes) -> tuple[str, Any] | None:
        """The branch name and record in ``data`` written with this topic's own schema, read
        by the compiled reader; None when anything is off (the full path then names it)."""
        if not data.startswith(self.value_header):
            return None
        try:
            byte = data[HEADER.size]
            if byte >= 0x80 or byte & 1:  # our unions have < 64 branches: one even byte
                return None
            name, reader = self.readers[byte >> 1]
            if reader is None:
                return None
            record, end = reader(data, HEADER.size + 1)
        except Exception:
            return None
        return (name, record) if end == len(data) else None

    def read_key_fast(self, data: bytes) -> Any:
        """The key in ``data`` written with this topic's own key schema, read by the compiled
        reader; None when anything is off (the full path then names it)."""
        if self.key_reader is None or not data.startswith(self.key_header):
            return None
        try:
            key, end = self.key_reader(data, HEADER.size)
        except Exception:
            return None
        return key if end == len(data) else None


def _varint(index: int) -> bytes:
    """Avro's zig-zag varint of a non-negative int (a union index)."""
    out = bytearray()
    put_long(out, index)
    return bytes(out)


def read_body(where: Where, buffer: io.BytesIO, writer: Any, reader: Any) -> Any:
    """fastavro's read of one datum, its faults as `DecodeError`s."""
    try:
        return schemaless_reader(
            buffer,
            writer,
            None if writer is reader else reader,
            return_record_name=True,
            return_record_name_override=True,
        )
    except EOFError:
        raise DecodeError(*where, DecodeReason.TRUNCATED, "the record ends early") from None
    except Exception as exc:
        # Untrusted bytes can make the Avro reader fail in many ways (bad union index,
        # negative length, invalid UTF-8, failed resolution); all of them mean "not ours".
        if type(exc).__name__ == "SchemaResolutionError":
            raise DecodeError(
                *where,
                DecodeReason.SCHEMA_MISMATCH,
                "the writer's schema does not resolve to this topic's",
            ) from None
        detail = f"{type(exc).__name__}: {exc}"
        raise DecodeError(*where, DecodeReason.CORRUPT, detail[:200]) from None


def branch_at(where: Where, buffer: io.BytesIO, branches: list[tuple[str, Any]]) -> tuple[str, Any]:
    """The union branch whose index is next in ``buffer``."""
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
