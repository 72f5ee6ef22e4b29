"""Convert pydantic models to the Python data fastavro writes, and back.

Converters are built once per model from the same classification the generator uses and
touch only what Avro cannot carry as is: JSON fields (to and from JSON text), enums, and
records inside unions (written in fastavro's ``(name, record)`` tuple notation so that the
writer never has to guess a branch by trial validation).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
from pydantic import BaseModel

from schemas.avro._types import (
    Array,
    Json,
    MapOf,
    Node,
    Nullable,
    Record,
    StrEnum,
    UnionOf,
    classify,
)

__all__ = ["ModelDecoder", "ModelEncoder", "model_decoder", "model_encoder"]

Convert = Callable[[Any], Any]
ModelEncoder = Callable[[BaseModel], dict[str, Any]]
ModelDecoder = Callable[[dict[str, Any]], dict[str, Any]]


def _dump_json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _enum_value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


@cache
def model_encoder(model: type[BaseModel], namespace: str) -> ModelEncoder:
    """A function turning an instance of ``model`` into the dict fastavro writes.

    Args:
        model: The pydantic model.
        namespace: The Avro namespace its records live in (names union branches).
    """
    converted = [
        (name, conv)
        for name, info in model.model_fields.items()
        if (conv := _encoder(classify(info.annotation), namespace)) is not None
    ]

    def encode(instance: BaseModel) -> dict[str, Any]:
        out = dict(instance.__dict__)
        for name, conv in converted:
            out[name] = conv(out[name])
        return out

    return encode


def _encoder(node: Node, namespace: str, in_union: bool = False) -> Convert | None:
    """None when the value needs no conversion (the common, fast case)."""
    match node:
        case Json():
            return _dump_json
        case StrEnum():
            return _enum_value
        case Nullable(inner=inner):
            return _nullable(_encoder(inner, namespace, in_union=True))
        case Array(items=items):
            return _each(_encoder(items, namespace))
        case MapOf(values=values):
            return _each_value(_encoder(values, namespace))
        case Record(model=model):
            return _tagged(model, namespace) if in_union else _untagged(namespace)
        case UnionOf(members=members):
            if any(isinstance(m, Record | Json | StrEnum) for m in members):
                return _union_encoder(members, namespace)
    return None


def _untagged(namespace: str) -> Convert:
    def encode(value: BaseModel) -> Any:
        return model_encoder(type(value), namespace)(value)

    return encode


def _tagged(model: type[BaseModel], namespace: str) -> Convert:
    fullname = f"{namespace}.{model.__name__}"

    def encode(value: BaseModel) -> Any:
        return (fullname, model_encoder(type(value), namespace)(value))

    return encode


def _union_encoder(members: tuple[Node, ...], namespace: str) -> Convert:
    models = {m.model for m in members if isinstance(m, Record)}

    def encode(value: Any) -> Any:
        if type(value) in models:
            return _tagged(type(value), namespace)(value)
        return _enum_value(value)

    return encode


@cache
def model_decoder(model: type[BaseModel]) -> ModelDecoder:
    """A function turning the dict fastavro read into data ``model.model_validate`` accepts.

    The dict is changed in place (it is fresh from the reader) and returned.
    """
    converted = [
        (name, conv)
        for name, info in model.model_fields.items()
        if (conv := _decoder(classify(info.annotation))) is not None
    ]

    def decode(data: dict[str, Any]) -> dict[str, Any]:
        for name, conv in converted:
            if name in data:
                data[name] = conv(data[name])
        return data

    return decode


def _decoder(node: Node) -> Convert | None:
    match node:
        case Json():
            return orjson.loads
        case Nullable(inner=inner):
            return _nullable(_decoder(inner))
        case Array(items=items):
            return _each(_decoder(items))
        case MapOf(values=values):
            return _each_value(_decoder(values))
        case Record(model=model):
            return _record_decoder(model)
        case UnionOf(members=members):
            records = {m.model.__name__: m.model for m in members if isinstance(m, Record)}
            if records:
                return _union_decoder(records)
    return None


def _record_decoder(model: type[BaseModel]) -> Convert:
    def decode(value: Any) -> Any:
        if isinstance(value, tuple):  # a record inside a union, read with its name
            value = value[1]
        return model_decoder(model)(value)

    return decode


def _union_decoder(records: dict[str, type[BaseModel]]) -> Convert:
    only = next(iter(records.values())) if len(records) == 1 else None

    def decode(value: Any) -> Any:
        if isinstance(value, tuple):
            name, value = value
            return model_decoder(records[name.rsplit(".", 1)[-1]])(value)
        if only is not None and isinstance(value, dict):
            return model_decoder(only)(value)  # a lone record branch is read without its name
        return value

    return decode


def _nullable(conv: Convert | None) -> Convert | None:
    if conv is None:
        return None
    return lambda value: None if value is None else conv(value)


def _each(conv: Convert | None) -> Convert | None:
    if conv is None:
        return None
    return lambda values: [conv(v) for v in values]


def _each_value(conv: Convert | None) -> Convert | None:
    if conv is None:
        return None
    return lambda values: {k: conv(v) for k, v in values.items()}
