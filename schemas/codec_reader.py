"""Avro binary readers compiled once per schema: the codec's decode hot path.

A reader compiled here returns what ``fastavro.schemaless_reader(..., return_record_name=True,
return_record_name_override=True)`` returns for the same bytes and schema (records as dicts,
records of a union with several as ``(name, dict)``, timestamps as aware UTC datetimes), in a
fraction of the time, because the schema walk happens once. It trusts nothing: any fault in
the bytes raises, and the codec then reads them with fastavro, which names the fault.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.codec_records import generate_reader

__all__ = ["Reader", "compile_reader"]

Reader = Callable[[bytes, int], tuple[Any, int]]
"""Reads a datum from ``data`` at ``pos``: the datum and the position after it."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE = struct.Struct("<d").unpack_from
_FLOAT = struct.Struct("<f").unpack_from


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


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    size, pos = _long(data, pos)
    end = pos + size
    if size < 0 or end > len(data):
        raise ValueError("bad bytes length")
    return data[pos:end], end


def _boolean(data: bytes, pos: int) -> tuple[bool, int]:
    if data[pos] > 1:
        raise ValueError("bad boolean")
    return data[pos] == 1, pos + 1


def _null(data: bytes, pos: int) -> tuple[None, int]:
    return None, pos


def _double(data: bytes, pos: int) -> tuple[float, int]:
    return _DOUBLE(data, pos)[0], pos + 8


def _float(data: bytes, pos: int) -> tuple[float, int]:
    return _FLOAT(data, pos)[0], pos + 4


def _timestamp_micros(data: bytes, pos: int) -> tuple[datetime, int]:
    micros, pos = _long(data, pos)
    return _EPOCH + timedelta(microseconds=micros), pos


_PRIMITIVES: dict[str, Reader] = {
    "string": _string,
    "long": _long,
    "int": _long,
    "boolean": _boolean,
    "null": _null,
    "bytes": _bytes,
    "double": _double,
    "float": _float,
}

# Leaf kinds a record reads inline (a call per field would cost as much as the reading).
_STRING, _LONG, _TIME, _OTHER = 0, 1, 2, 3


def compile_reader(schema: Any, *, raw_timestamps: bool = False) -> Reader | None:
    """A reader of ``schema`` (parsed and expanded: no named references), or None if it uses
    something this module does not compile.

    Args:
        schema: The writer's schema (which is also the reader's: no resolution here).
        raw_timestamps: Give timestamps as their long of microseconds, not as datetimes.
    """
    if isinstance(schema, str):
        return _PRIMITIVES.get(schema)
    if isinstance(schema, list):
        return _union(schema, raw_timestamps)
    if not isinstance(schema, dict):
        return None
    kind, logical = schema.get("type"), schema.get("logicalType")
    if logical is not None:
        if (kind, logical) != ("long", "timestamp-micros"):
            return None
        return _long if raw_timestamps else _timestamp_micros
    if kind == "record":
        fields = [_field(f["name"], f["type"], raw_timestamps) for f in schema["fields"]]
        return None if None in fields else _record([f for f in fields if f is not None])
    if kind == "enum":
        return _enum(list(schema["symbols"]))
    if kind in ("map", "array"):
        items = compile_reader(
            schema["values" if kind == "map" else "items"], raw_timestamps=raw_timestamps
        )
        return None if items is None else _blocks(items, kind == "map")
    return (
        compile_reader(kind, raw_timestamps=raw_timestamps)
        if isinstance(kind, str | list)
        else None
    )


_Field = tuple[str, bool, int, Reader | None]
"""name, nullable, leaf kind, reader (for the `_OTHER` kind)."""


def _field(name: str, schema: Any, raw_timestamps: bool) -> _Field | None:
    nullable = isinstance(schema, list) and len(schema) == 2 and schema[0] == "null"
    inner = schema[1] if nullable else schema
    kind = inner.get("type") if isinstance(inner, dict) else inner
    logical = inner.get("logicalType") if isinstance(inner, dict) else None
    if kind == "string" and logical is None:
        return name, nullable, _STRING, None
    if kind in ("long", "int") and (
        logical is None or (raw_timestamps and logical == "timestamp-micros")
    ):
        return name, nullable, _LONG, None
    if kind == "long" and logical == "timestamp-micros":
        return name, nullable, _TIME, None
    reader = compile_reader(schema, raw_timestamps=raw_timestamps)
    return None if reader is None else (name, False, _OTHER, reader)


def _union(members: list[Any], raw_timestamps: bool) -> Reader | None:
    readers = [compile_reader(member, raw_timestamps=raw_timestamps) for member in members]
    if None in readers:
        return None
    names = [
        m["name"] if isinstance(m, dict) and m.get("type") == "record" else None for m in members
    ]
    # fastavro names the record read only when the union holds more than one record.
    tagged = sum(name is not None for name in names) > 1
    branches = [
        (reader, name if tagged else None) for reader, name in zip(readers, names, strict=True)
    ]

    def read(data: bytes, pos: int) -> tuple[Any, int]:
        index, pos = _long(data, pos)
        if index < 0:
            raise ValueError("bad union index")
        reader, name = branches[index]
        value, pos = reader(data, pos)  # type: ignore[misc]
        return (value if name is None else (name, value)), pos

    return read


def _enum(symbols: list[str]) -> Reader:
    def read(data: bytes, pos: int) -> tuple[str, int]:
        index, pos = _long(data, pos)
        if index < 0:
            raise ValueError("bad enum index")
        return symbols[index], pos

    return read


_KINDS = {_STRING: "string", _LONG: "long", _TIME: "time", _OTHER: "other"}


def _record(fields: list[_Field]) -> Reader:
    reader: Reader = generate_reader(
        [(name, nullable, _KINDS[leaf], reader) for name, nullable, leaf, reader in fields],
        {"_long": _long, "_EPOCH": _EPOCH, "_timedelta": timedelta},
    )
    return reader


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
