"""Avro binary writers compiled once per schema: the codec's encode hot path.

``fastavro.schemaless_writer`` re-walks the schema for every record (named-type bookkeeping,
logical-type dispatch, union matching by trial validation); the engine writes ~20 small
records per execution, so that walk was its largest single cost. A writer compiled here
writes the same bytes with one closure per field and no lookups.

A compiled writer is strict: it accepts only the Python types the codec's model converters
produce (``str`` for strings, ``int`` for longs, aware ``datetime`` for timestamps,
``(name, dict)`` for records in unions, ...) and raises on anything else. The codec then
writes the record with fastavro, which either writes it too (same bytes) or raises the error
the caller reports, so both paths agree on every input (a property test checks the bytes).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from schemas.codec_records import generate_writer

__all__ = ["Writer", "compile_writer"]

Writer = Callable[[bytearray, Any], None]
"""Appends the Avro binary encoding of a datum to the buffer, or raises."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_DOUBLE = struct.Struct("<d").pack
_FLOAT = struct.Struct("<f").pack


class Unsupported(TypeError):
    """A datum the compiled writer does not take; the codec falls back to fastavro."""


def put_long(out: bytearray, value: int) -> None:
    """Append ``value`` as Avro's zig-zag varint (a ``long``)."""
    if 0 <= value < 64:  # most lengths, indexes and small numbers: one byte
        out.append(value << 1)
        return
    if type(value) is not int or not _LONG_MIN <= value <= _LONG_MAX:
        raise Unsupported("not a long")
    value = (value << 1) ^ (value >> 63)
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _long(out: bytearray, value: Any) -> None:
    if type(value) is not int:
        raise Unsupported("not an int")
    put_long(out, value)


def _int(out: bytearray, value: Any) -> None:
    if type(value) is not int or not _INT_MIN <= value <= _INT_MAX:
        raise Unsupported("not an int")
    put_long(out, value)


def _string(out: bytearray, value: Any) -> None:
    if type(value) is not str:
        raise Unsupported("not a str")
    data = value.encode()
    put_long(out, len(data))
    out += data


def _bytes(out: bytearray, value: Any) -> None:
    if type(value) is not bytes:
        raise Unsupported("not bytes")
    put_long(out, len(value))
    out += value


def _boolean(out: bytearray, value: Any) -> None:
    if type(value) is not bool:
        raise Unsupported("not a bool")
    out.append(1 if value else 0)


def _double(out: bytearray, value: Any) -> None:
    if type(value) is not float:
        raise Unsupported("not a float")
    out += _DOUBLE(value)


def _float(out: bytearray, value: Any) -> None:
    if type(value) is not float:
        raise Unsupported("not a float")
    out += _FLOAT(value)


def _null(out: bytearray, value: Any) -> None:
    if value is not None:
        raise Unsupported("not None")


_last_time: list[tuple[Any, bytes]] = [(None, b"")]
"""The last datetime written and its encoding (one tuple, swapped whole, so a reader in another
thread never pairs one time with another's bytes): a command's events share one time."""


def _timestamp_micros(out: bytearray, value: Any) -> None:
    last, encoded = _last_time[0]
    if value is last:  # the tuple holds a reference, so the id cannot be reused meanwhile
        out += encoded
        return
    # fastavro's arithmetic exactly (a naive datetime means local time there: not ours).
    if type(value) is datetime and value.tzinfo is not None:
        delta = value - _EPOCH
        fresh = bytearray()
        put_long(fresh, (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
        out += fresh
        _last_time[0] = (value, bytes(fresh))
    else:
        _long(out, value)


_PRIMITIVES: dict[str, Writer] = {
    "null": _null,
    "boolean": _boolean,
    "int": _int,
    "long": _long,
    "float": _float,
    "double": _double,
    "bytes": _bytes,
    "string": _string,
}
_LOGICAL: dict[tuple[str, str], Writer] = {("long", "timestamp-micros"): _timestamp_micros}


def compile_writer(schema: Any) -> Writer | None:
    """A writer of ``schema`` (parsed and expanded: no named references), or None if it uses
    something this module does not compile (the codec then always uses fastavro)."""
    if isinstance(schema, str):
        return _PRIMITIVES.get(schema)
    if isinstance(schema, list):
        return _union(schema)
    if not isinstance(schema, dict):
        return None
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical is not None:
        return _LOGICAL.get((kind, logical)) if isinstance(kind, str) else None
    if kind == "record":
        return _record(schema)
    if kind == "enum":
        return _enum(schema["symbols"])
    if kind == "array":
        items = compile_writer(schema["items"])
        return None if items is None else _array(items)
    if kind == "map":
        values = compile_writer(schema["values"])
        return None if values is None else _map(values)
    return compile_writer(kind) if isinstance(kind, str | list) else None


# Leaf kinds a record writes inline: a record is mostly strings, longs and timestamps, and a
# call per field would cost as much as the writing.
_STRING, _LONG, _TIME, _OTHER = 0, 1, 2, 3
_Field = tuple[str, bool, int, Writer]
"""name, nullable (a ["null", leaf] union), leaf kind, writer (of the leaf, or of the field)."""


def _field(name: str, schema: Any) -> _Field | None:
    nullable = isinstance(schema, list) and len(schema) == 2 and schema[0] == "null"
    inner = schema[1] if nullable else schema
    kind = inner.get("type") if isinstance(inner, dict) else inner
    logical = inner.get("logicalType") if isinstance(inner, dict) else None
    leaf = (
        {("string", None): _STRING, ("long", None): _LONG, ("long", "timestamp-micros"): _TIME}.get(
            (kind, logical)
        )
        if isinstance(kind, str)
        else None
    )
    if leaf is None:
        writer = compile_writer(schema)
        return None if writer is None else (name, False, _OTHER, writer)
    writer = compile_writer(inner)
    assert writer is not None  # every leaf kind compiles
    return name, nullable, leaf, writer


_KINDS = {_STRING: "string", _LONG: "long", _TIME: "time", _OTHER: "other"}


def _record(schema: dict[str, Any]) -> Writer | None:
    fields = [_field(f["name"], f["type"]) for f in schema["fields"]]
    if None in fields:
        return None
    writer: Writer = generate_writer(
        [(name, nullable, _KINDS[leaf], w) for name, nullable, leaf, w in filter(None, fields)],
        {"put_long": put_long, "_long": _long, "Unsupported": Unsupported},
    )
    return writer


def _enum(symbols: list[str]) -> Writer:
    index = {symbol: i for i, symbol in enumerate(symbols)}

    def write(out: bytearray, value: Any) -> None:
        if type(value) is not str or value not in index:
            raise Unsupported("not a symbol")
        put_long(out, index[value])

    return write


def _array(items: Writer) -> Writer:
    def write(out: bytearray, value: Any) -> None:
        if type(value) is not list:
            raise Unsupported("not a list")
        if value:
            put_long(out, len(value))
            for item in value:
                items(out, item)
        out.append(0)

    return write


def _map(values: Writer) -> Writer:
    def write(out: bytearray, value: Any) -> None:
        if type(value) is not dict:
            raise Unsupported("not a dict")
        if value:
            put_long(out, len(value))
            for key, item in value.items():
                _string(out, key)
                values(out, item)
        out.append(0)

    return write


# What a union member accepts, for choosing a branch without fastavro's trial validation.
# Only types that can never match two members of one of our unions are listed.
_ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "null": lambda v: v is None,
    "boolean": lambda v: type(v) is bool,
    "long": lambda v: type(v) is int,
    "int": lambda v: type(v) is int,
    "double": lambda v: type(v) is float,
    "float": lambda v: type(v) is float,
    "string": lambda v: type(v) is str,
    "bytes": lambda v: type(v) is bytes,
    "array": lambda v: type(v) is list,
    "map": lambda v: type(v) is dict,
    "record": lambda v: type(v) is dict,
}


def _kind(member: Any) -> str | None:
    kind = member.get("type") if isinstance(member, dict) else member
    if isinstance(member, dict) and "logicalType" in member:
        return None  # a logical type accepts more than its base type: let fastavro choose
    return kind if isinstance(kind, str) else None


def _union(members: list[Any]) -> Writer | None:
    writers = [compile_writer(member) for member in members]
    if any(w is None for w in writers) or len(members) > 63:
        return None
    if len(members) == 2 and members[0] == "null":
        inner = writers[1]
        assert inner is not None
        second = members[1]
        record = (
            second["name"] if isinstance(second, dict) and second.get("type") == "record" else None
        )

        def nullable(out: bytearray, value: Any) -> None:
            if value is None:
                out.append(0)
                return
            if type(value) is tuple:  # fastavro's (record name, record) notation
                name, value = value
                if record is None or name != record:
                    raise Unsupported("no such record branch")
            out.append(2)
            inner(out, value)

        return nullable
    return _general_union(members, [w for w in writers if w is not None])


def _general_union(members: list[Any], writers: list[Writer]) -> Writer:
    kinds = [_kind(member) for member in members]
    named = {
        m["name"]: i
        for i, m in enumerate(members)
        if isinstance(m, dict) and m.get("type") == "record"
    }
    tests = [(i, _ACCEPTS.get(kind or "")) for i, kind in enumerate(kinds)]

    def write(out: bytearray, value: Any) -> None:
        if type(value) is tuple:  # fastavro's (record name, record) notation
            name, value = value
            index = named.get(name)
            if index is None:
                raise Unsupported("no such record branch")
        else:
            found = [i for i, test in tests if test is None or test(value)]
            if len(found) != 1 or tests[found[0]][1] is None:
                raise Unsupported("ambiguous union value")
            index = found[0]
        put_long(out, index)
        writers[index](out, value)

    return write
