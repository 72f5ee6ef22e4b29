"""Straight-line record readers and writers, generated once per record schema.

A record is mostly strings, longs and timestamps; a loop over its fields with a call per field
cost as much as the reading and writing themselves (~0.5 µs a field). So, as `dataclasses`
does for ``__init__``, the code of each record's reader and writer is generated as one
straight-line function and compiled once. The source is built only from the codec's own
catalogue schemas (field names quoted with ``repr``), never from a record's bytes or a
registry answer. Semantics are those of the per-field functions in `schemas.codec_reader`
and `schemas.codec_writer`; the property tests against fastavro cover both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Leaf", "generate_reader", "generate_writer"]

Leaf = str
"""A field's kind: ``string``, ``long``, ``time``, or ``other`` (read or written by a call)."""

_READ_SIZE = """\
{i}byte = data[pos]
{i}if byte < 0x80:
{i}    size, pos = (byte >> 1) ^ -(byte & 1), pos + 1
{i}else:
{i}    size, pos = _long(data, pos)
"""
_READ_STRING = """\
{i}end = pos + size
{i}if size < 0 or end > len(data):
{i}    raise ValueError("bad string length")
{i}{target} = data[pos:end].decode()
{i}pos = end
"""
_WRITE_STRING = """\
{i}if type(item) is not str:
{i}    raise Unsupported("not a str")
{i}encoded = item.encode()
{i}size = len(encoded)
{i}if size < 64:
{i}    out.append(size << 1)
{i}else:
{i}    put_long(out, size)
{i}out += encoded
"""
_WRITE_LONG = """\
{i}if type(item) is int and 0 <= item < 64:
{i}    out.append(item << 1)
{i}else:
{i}    _long(out, item)
"""


def _read_leaf(leaf: Leaf, target: str, call: str, indent: str) -> str:
    if leaf == "other":
        return f"{indent}{target}, pos = {call}(data, pos)\n"
    code = _READ_SIZE.format(i=indent)
    if leaf == "long":
        return code + f"{indent}{target} = size\n"
    if leaf == "time":
        return code + f"{indent}{target} = _EPOCH + _timedelta(microseconds=size)\n"
    return code + _READ_STRING.format(i=indent, target=target)


def generate_reader(fields: list[tuple[str, bool, Leaf, Any]], env: dict[str, Any]) -> Any:
    """A reader of a record with these fields: (name, nullable, leaf kind, reader of ``other``).

    Args:
        fields: The record's fields in order; ``nullable`` means a ``["null", leaf]`` union.
        env: The helpers the code calls (``_long``, ``_EPOCH``, ``_timedelta``).
    """
    names = {f"_r{n}": reader for n, (_, _, _, reader) in enumerate(fields)}
    body = ""
    for n, (_, nullable, leaf, _) in enumerate(fields):
        target = f"v{n}"
        if not nullable:
            body += _read_leaf(leaf, target, f"_r{n}", "    ")
            continue
        body += (
            f"    flag = data[pos]\n    pos += 1\n    if flag == 0:\n        {target} = None\n"
            f"    elif flag == 2:\n{_read_leaf(leaf, target, f'_r{n}', '        ')}"
            f"    else:\n        raise ValueError('bad union index')\n"
        )
    result = ", ".join(f"{name!r}: v{n}" for n, (name, _, _, _) in enumerate(fields))
    source = f"def read(data, pos):\n{body}    return {{{result}}}, pos\n"
    return _compile(source, {**env, **names}, "read")


def generate_writer(fields: list[tuple[str, bool, Leaf, Any]], env: dict[str, Any]) -> Any:
    """A writer of a record with these fields: (name, nullable, leaf kind, writer of the leaf
    or of an ``other`` field).

    Args:
        fields: The record's fields in order; ``nullable`` means a ``["null", leaf]`` union.
        env: The helpers the code calls (``put_long``, ``_long``, ``Unsupported``).
    """
    names = {f"_w{n}": writer for n, (_, _, _, writer) in enumerate(fields)}
    body = (
        "    if type(value) is not dict or '-type' in value:\n"  # fastavro: "-type" = branch
        "        raise Unsupported('not a plain record dict')\n"
    )
    for n, (name, nullable, leaf, _) in enumerate(fields):
        indent = "        " if nullable else "    "
        body += f"    item = value[{name!r}]\n"
        if nullable:
            body += (
                "    if item is None:\n        out.append(0)\n    else:\n        out.append(2)\n"
            )
        if leaf == "string":
            body += _WRITE_STRING.format(i=indent)
        elif leaf == "long":
            body += _WRITE_LONG.format(i=indent)
        else:
            body += f"{indent}_w{n}(out, item)\n"
    source = f"def write(out, value):\n{body}"
    return _compile(source, {**env, **names}, "write")


def _compile(source: str, env: dict[str, Any], name: str) -> Callable[..., Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<avro record {name}>", "exec"), dict(env), namespace)
    function: Callable[..., Any] = namespace[name]
    return function
