"""Golden sample records of released schemas, and the tools that make them.

The released schemas themselves are part of the package (``schemas/avro/releases/vN``, see
``schemas.avro.release``). For each release, ``vN/records.json`` here holds one sample record
per event type, as JSON and as the bytes that release's codec wrote (hex, Confluent wire
format). Never edited; written once by ``python -m tests.schemas.golden.release vN`` right after
``python -m schemas.avro.release vN``.
"""

from __future__ import annotations

import re
import types
import typing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import annotated_types
import orjson
from pydantic import BaseModel

from schemas.avro import UtcDatetime
from schemas.avro._types import Array, Json, MapOf, Nullable, Record, UnionOf, classify
from schemas.avro.catalogue import CATALOGUE
from schemas.avro.release import released_versions as schema_releases

GOLDEN_DIR = Path(__file__).parent
SAMPLE_TIME = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
SAMPLE_JSON: dict[str, Any] = {"n": 1, "s": "text", "list": [1.5, None, True], "obj": {"k": "v"}}

# Fields a full sample must leave at their default because they exclude another field.
_LEAVE_DEFAULT = {("TriggerEvent", "data_base64")}

__all__ = ["GOLDEN_DIR", "UtcDatetime", "all_event_models", "load_records", "released_versions",
           "sample_event"]


def released_versions() -> list[str]:
    """The released versions with golden records, oldest first (``["v1", ...]``)."""
    return [v for v in schema_releases() if (GOLDEN_DIR / v / "records.json").is_file()]


def load_records(version: str) -> list[dict[str, Any]]:
    """The golden sample records of a released version."""
    return list(orjson.loads((GOLDEN_DIR / version / "records.json").read_bytes()))


def all_event_models() -> list[tuple[str, type[BaseModel]]]:
    """(topic role, model) for every event type of every topic."""
    return [(role, model) for role, entry in CATALOGUE.items() for model in entry.events]


def sample_event(model: type[BaseModel]) -> BaseModel:
    """A deterministic instance of ``model`` with every field set (optional ones too)."""
    values = {
        name: _sample(info.annotation, name, info.metadata)
        for name, info in model.model_fields.items()
        if (model.__name__, name) not in _LEAVE_DEFAULT
    }
    return model.model_validate(values)


def _sample(annotation: Any, name: str, metadata: list[Any]) -> Any:
    node = classify(annotation)
    if isinstance(node, Json):
        shapes = {typing.get_origin(a) for a in (annotation, *typing.get_args(annotation))}
        return [SAMPLE_JSON] if list in shapes else SAMPLE_JSON
    if isinstance(node, Nullable):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _sample(inner[0], name, [])  # the first non-null branch is enough for a sample
    if isinstance(node, Array):
        return [_sample(typing.get_args(annotation)[0], name, [])]
    if isinstance(node, MapOf):
        return {"k": _sample(typing.get_args(annotation)[1], name, [])}
    if isinstance(node, Record):
        return sample_event(node.model)
    if isinstance(node, UnionOf):
        return _sample(typing.get_args(annotation)[0], name, [])
    return _scalar(annotation, name, metadata)


def _scalar(annotation: Any, name: str, metadata: list[Any]) -> Any:
    base = annotation
    while typing.get_origin(base) is typing.Annotated:
        base = typing.get_args(base)[0]
    if typing.get_origin(base) is Literal:
        return typing.get_args(base)[0]
    if isinstance(base, types.UnionType):
        return _scalar(typing.get_args(base)[0], name, metadata)
    node = classify(base)
    avro = getattr(node, "avro", None)
    if avro == "boolean":
        return True
    if avro == "long":
        floor = max([m.ge for m in metadata if isinstance(m, annotated_types.Ge)] + [0])
        return floor + 3
    if avro == "double":
        return 1.5
    if avro == "bytes":
        return b"\x00\xffbytes"
    if avro == "string":
        enum_members = list(base) if isinstance(base, type) and hasattr(base, "__members__") else []
        if enum_members:
            return enum_members[0]
        patterns = [m.pattern for m in metadata if isinstance(getattr(m, "pattern", None), str)]
        # e.g. a template parameter's name is an identifier: no hyphen
        return next((text for text in (f"{name}-1", f"{name}_1")
                     if all(re.match(p, text) for p in patterns)), f"{name}-1")
    return SAMPLE_TIME  # the remaining scalar kind in our models: timestamps
