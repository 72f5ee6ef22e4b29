"""How a pydantic field annotation maps to Avro.

One classification, shared by the schema generator and the record converters, so that the
``.avsc`` files and the bytes the codec writes can never disagree. Free-form JSON (``Any``,
``JsonValue`` and any container holding them) becomes an Avro ``string`` holding JSON text:
Avro has no "any" type, and one opaque JSON field is both faster (orjson) and easier for
other-language consumers than a recursive union.
"""

from __future__ import annotations

import enum
import types
import typing
from collections import abc
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Union
from uuid import UUID

import typing_extensions
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    FutureDatetime,
    JsonValue,
    NaiveDatetime,
    PastDatetime,
)

__all__ = [
    "Array",
    "Json",
    "MapOf",
    "Node",
    "Nullable",
    "Primitive",
    "Record",
    "StrEnum",
    "Timestamp",
    "UnionOf",
    "UnsupportedType",
    "UtcDatetime",
    "Uuid",
    "classify",
]


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware datetime normalised to UTC: what Avro ``timestamp-micros`` gives back."""


class UnsupportedType(TypeError):
    """An annotation has no Avro mapping; the message names it."""


@dataclass(frozen=True)
class Primitive:
    """string, long, double, boolean or bytes: passed through unchanged."""

    avro: str


@dataclass(frozen=True)
class Timestamp:
    """A datetime, as Avro ``long`` with logical type ``timestamp-micros`` (UTC)."""


@dataclass(frozen=True)
class Uuid:
    """A UUID, as Avro ``string`` with logical type ``uuid``."""


@dataclass(frozen=True)
class StrEnum:
    """A Python enum with string values, written as its value (an Avro string).

    Not an Avro enum: adding a symbol to an Avro enum breaks old readers, adding a value to a
    string does not (the pydantic model still validates it on decode).
    """

    cls: type[enum.Enum]


@dataclass(frozen=True)
class Json:
    """Free-form JSON, as an Avro string holding JSON text."""


@dataclass(frozen=True)
class Nullable:
    """``X | None``."""

    inner: Node


@dataclass(frozen=True)
class Array:
    """``list[X]`` or ``tuple[X, ...]``."""

    items: Node


@dataclass(frozen=True)
class MapOf:
    """``dict[str, X]`` where X is not free-form JSON."""

    values: Node


@dataclass(frozen=True)
class Record:
    """A nested pydantic model, as an Avro record."""

    model: type[BaseModel]


@dataclass(frozen=True)
class UnionOf:
    """A union of several non-null types (e.g. a discriminated union of models)."""

    members: tuple[Node, ...]


Node = Primitive | Timestamp | Uuid | StrEnum | Json | Nullable | Array | MapOf | Record | UnionOf

_ALIAS_TYPES: tuple[type, ...] = tuple(
    {
        typing_extensions.TypeAliasType,
        getattr(typing, "TypeAliasType", typing_extensions.TypeAliasType),
    }
)

# pydantic's constrained datetimes are marker classes at runtime, not datetime subclasses.
_PYDANTIC_DATETIMES = (AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime)

_SCALARS: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: bool is an int subclass
    (int, "long"),
    (float, "double"),
    (str, "string"),
    (bytes, "bytes"),
)


def classify(annotation: Any) -> Node:
    """Classify a field annotation.

    Args:
        annotation: A type as found in ``Model.model_fields[name].annotation``.

    Returns:
        The node describing its Avro form.

    Raises:
        UnsupportedType: If the annotation has no Avro mapping.
    """
    tp = _unwrap(annotation)
    if tp is Any or tp is object or tp is JsonValue:
        return Json()
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _classify_union(typing.get_args(tp))
    if origin is Literal:
        return _classify_literal(typing.get_args(tp))
    if origin is not None:
        return _classify_generic(tp, origin, typing.get_args(tp))
    return _classify_class(tp)


def _unwrap(tp: Any) -> Any:
    while True:
        if tp is JsonValue:
            return tp
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
        elif isinstance(tp, _ALIAS_TYPES):
            tp = tp.__value__  # type: ignore[attr-defined]
        else:
            return tp


def _classify_union(args: tuple[Any, ...]) -> Node:
    nullable = type(None) in args
    members = [classify(a) for a in args if a is not type(None)]
    if any(isinstance(m, Json) for m in members):
        return Json()  # JSON already holds null and everything else
    inner = members[0] if len(members) == 1 else UnionOf(tuple(members))
    return Nullable(inner) if nullable else inner


def _classify_literal(values: tuple[Any, ...]) -> Node:
    kinds = {_classify_class(type(v)) for v in values}
    if len(kinds) != 1:
        raise UnsupportedType(f"Literal{list(values)!r} mixes value types")
    return kinds.pop()


def _classify_generic(tp: Any, origin: Any, args: tuple[Any, ...]) -> Node:
    if origin in (list, set, frozenset) or (origin is tuple and len(args) == 2 and args[1] is ...):
        items = classify(args[0])
        return Json() if isinstance(items, Json) else Array(items)
    if origin in (dict, abc.Mapping):
        if _unwrap(args[0]) is not str:
            raise UnsupportedType(f"{tp!r}: Avro map keys are strings")
        values = classify(args[1])
        return Json() if isinstance(values, Json) else MapOf(values)
    raise UnsupportedType(f"{tp!r} has no Avro mapping")


def _classify_class(tp: Any) -> Node:
    if not isinstance(tp, type):
        raise UnsupportedType(f"{tp!r} has no Avro mapping")
    if issubclass(tp, BaseModel):
        return Record(tp)
    if issubclass(tp, enum.Enum):
        if not all(isinstance(m.value, str) for m in tp):
            raise UnsupportedType(f"{tp!r}: only enums with string values are supported")
        return StrEnum(tp)
    if issubclass(tp, datetime) or tp in _PYDANTIC_DATETIMES:
        return Timestamp()
    if issubclass(tp, UUID):
        return Uuid()
    for py, avro in _SCALARS:
        if issubclass(tp, py):
            return Primitive(avro)
    raise UnsupportedType(f"{tp!r} has no Avro mapping")
