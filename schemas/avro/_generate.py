"""Generate Avro schemas from the pydantic event models, deterministically.

The models are the source of truth; the committed ``.avsc`` files are their generated mirror
(a drift test keeps them equal) and what other-language consumers read.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from schemas.avro._types import (
    Array,
    Json,
    MapOf,
    Node,
    Nullable,
    Primitive,
    Record,
    StrEnum,
    Timestamp,
    UnionOf,
    Uuid,
    classify,
)

__all__ = ["NO_DEFAULT", "avro_default", "union_schema"]

NO_DEFAULT = object()
"""Marks a field without an Avro default (a required field)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class _Names:
    """Named types already defined in the schema being built (Avro defines each name once)."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.defined: set[str] = set()

    def fullname(self, model: type[BaseModel]) -> str:
        return f"{self.namespace}.{model.__name__}"


def union_schema(models: Iterable[type[BaseModel]], namespace: str) -> list[Any]:
    """The Avro union of one record per model, all in ``namespace``.

    Args:
        models: The event models of one topic, in a stable order.
        namespace: Avro namespace, e.g. ``"headwater.tasks.v1"``.

    Returns:
        The schema as JSON-ready data (a list: an Avro union).
    """
    names = _Names(namespace)
    return [_record_schema(model, names) for model in models]


def _record_schema(model: type[BaseModel], names: _Names) -> Any:
    """The Avro record for ``model``, or just its name if the schema already defines it."""
    fullname = names.fullname(model)
    if fullname in names.defined:
        return fullname
    names.defined.add(fullname)
    field_docs = _attribute_docs(model)
    fields = [
        _field_schema(name, info, names, field_docs.get(name) or info.description)
        for name, info in model.model_fields.items()
    ]
    schema: dict[str, Any] = {
        "type": "record",
        "name": model.__name__,
        "namespace": names.namespace,
    }
    summary = _summary(model)
    if summary:
        schema["doc"] = summary
    schema["fields"] = fields
    return schema


def _field_schema(name: str, info: FieldInfo, names: _Names, doc: str | None) -> dict[str, Any]:
    node = classify(info.annotation)
    default = _python_default(info)
    avro = _avro_type(node, names, first=None if default is NO_DEFAULT else default)
    field: dict[str, Any] = {"name": name, "type": avro}
    if doc:
        field["doc"] = doc
    if default is not NO_DEFAULT:
        field["default"] = avro_default(node, default)
    return field


def _avro_type(node: Node, names: _Names, first: Any = None) -> Any:
    """The Avro type of a classified node.

    Args:
        node: The classified annotation.
        names: The named types defined so far in this schema.
        first: The field's default value; Avro requires a union's default to match its
            first branch, so a nullable field defaulting to a value lists that value's type first.
    """
    match node:
        case Primitive(avro=avro):
            return avro
        case Timestamp():
            return {"type": "long", "logicalType": "timestamp-micros"}
        case Uuid():
            return {"type": "string", "logicalType": "uuid"}
        case StrEnum() | Json():
            return "string"
        case Nullable(inner=inner):
            inner_type = _avro_type(inner, names)
            branches = inner_type if isinstance(inner_type, list) else [inner_type]
            return [*branches, "null"] if first is not None else ["null", *branches]
        case Array(items=items):
            return {"type": "array", "items": _avro_type(items, names)}
        case MapOf(values=values):
            return {"type": "map", "values": _avro_type(values, names)}
        case Record(model=model):
            return _record_schema(model, names)
        case UnionOf(members=members):
            return [_avro_type(m, names) for m in _union_order(members)]
    raise AssertionError(node)  # pragma: no cover - the match is exhaustive


def _union_order(members: tuple[Node, ...]) -> list[Node]:
    # Primitives first in a fixed order so that fastavro picks bool before long before double.
    rank = {"boolean": 0, "long": 1, "double": 2, "string": 3, "bytes": 4}
    return sorted(members, key=lambda m: rank.get(m.avro, 5) if isinstance(m, Primitive) else 6)


def _python_default(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        try:
            return info.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return NO_DEFAULT  # a factory that needs the other fields has no static default
    return NO_DEFAULT


def avro_default(node: Node, value: Any) -> Any:
    """A Python default value as the JSON an Avro ``default`` holds for ``node``."""
    if isinstance(node, Json):  # JSON text, so None is the text "null"
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if value is None:
        return None
    match node:
        case StrEnum():
            return value.value if hasattr(value, "value") else value
        case Timestamp():
            return (value - _EPOCH) // _MICROSECOND
        case Uuid():
            return str(value)
        case Nullable(inner=inner):
            return avro_default(inner, value)
        case Array(items=items):
            return [avro_default(items, v) for v in value]
        case MapOf(values=values):
            return {k: avro_default(values, v) for k, v in value.items()}
        case Record():
            return _record_default(value)
        case Primitive(avro="bytes"):
            return value.decode("latin-1")  # Avro's JSON encoding of bytes
    return value


def _record_default(value: BaseModel) -> dict[str, Any]:
    return {
        name: avro_default(classify(info.annotation), getattr(value, name))
        for name, info in type(value).model_fields.items()
    }


_ATTRIBUTE_LINE = re.compile(r"^(\w+)(?: \(.*?\))?: (.*)$")


def _summary(model: type[BaseModel]) -> str:
    doc = inspect.getdoc(model) if model.__doc__ else None
    return doc.split("\n\n", 1)[0].replace("\n", " ").strip() if doc else ""


def _attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """Field docs from the Google-style ``Attributes:`` sections of the model and its bases."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls.__doc__ and issubclass(cls, BaseModel):
            docs.update(_parse_attributes(inspect.cleandoc(cls.__doc__)))
    return docs


def _parse_attributes(doc: str) -> dict[str, str]:
    found: dict[str, str] = {}
    current: str | None = None
    in_section = False
    for line in doc.splitlines():
        if line.strip() == "Attributes:":
            in_section, current = True, None
        elif in_section and line.startswith("        ") and current:
            found[current] += " " + line.strip()
        elif in_section and line.startswith("    ") and (m := _ATTRIBUTE_LINE.match(line.strip())):
            current = m.group(1)
            found[current] = m.group(2).strip()
        elif in_section and line.strip():
            in_section = False
    return found
