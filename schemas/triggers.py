"""Trigger events: the CloudEvents 1.0 envelope that producers publish to ``hw.triggers``.

Producers may publish in either content mode of the CloudEvents Kafka protocol binding:

* **structured**: the record value is the JSON event format and the ``content-type`` header
  is ``application/cloudevents+json``;
* **binary**: attributes travel as ``ce_<name>`` headers (UTF-8 text), ``content-type`` is the
  data's media type, and the record value is the data itself.

Inside headwater a trigger is the frozen ``TriggerEvent`` model (and Avro on the wire, see
``docs/events.md``). Every parse error names the attribute at fault.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NamedTuple

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas.avro import UtcDatetime

__all__ = [
    "CLOUDEVENTS_JSON",
    "InvalidTrigger",
    "TriggerEvent",
    "TriggerFields",
    "TriggerProblem",
    "content_mode",
    "parse_binary",
    "parse_kafka",
    "parse_structured",
    "trigger_fields",
]

CLOUDEVENTS_JSON = "application/cloudevents+json"
"""The media type of a structured-mode CloudEvent in JSON."""

_CONTEXT_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"}
)
_RESERVED = _CONTEXT_ATTRIBUTES | {"data", "data_base64", "extensions"}
_EXTENSION_NAME = re.compile(r"^[a-z0-9]+$")
_INT32 = (-(2**31), 2**31 - 1)

ExtensionValue = bool | int | str


class TriggerProblem(BaseModel):
    """One thing wrong with an incoming CloudEvent.

    Attributes:
        field: The attribute at fault, e.g. ``"source"`` or ``"extensions.traceparent"``.
        message: What is wrong with it.
    """

    model_config = ConfigDict(frozen=True)

    field: str
    message: str


class InvalidTrigger(ValueError):
    """A record is not a valid CloudEvent; ``problems`` name every attribute at fault."""

    def __init__(self, problems: Iterable[TriggerProblem], context: str = "") -> None:
        self.problems = tuple(problems)
        self.field = self.problems[0].field if self.problems else ""
        self.context = context  # e.g. which content mode was chosen, and why
        text = "; ".join(f"{p.field}: {p.message}" for p in self.problems)
        where = f" ({context})" if context else ""
        super().__init__(f"invalid CloudEvent{where}: {text}")


def _problem(field: str, message: str) -> InvalidTrigger:
    return InvalidTrigger([TriggerProblem(field=field, message=message)])


class TriggerEvent(BaseModel):
    """A CloudEvents 1.0 event that may start workflows and fire rules.

    Attributes:
        specversion: Always ``"1.0"``.
        id: Unique per ``source``; with ``source`` it identifies the event (dedup key).
        source: URI-reference of the producer context, e.g. ``"/shop/orders"``.
        type: What happened, reverse-DNS style, e.g. ``"com.example.order.created"``.
        subject: What it happened to, within ``source``; the default correlation key.
        time: When it happened (UTC).
        datacontenttype: Media type of ``data``, e.g. ``"application/json"``.
        dataschema: URI of the schema ``data`` adheres to.
        data: The payload as JSON (text payloads are JSON strings).
        data_base64: A binary payload, base64-encoded (never set together with ``data``).
        extensions: Extension attributes (lower-case alphanumeric names).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    subject: str | None = Field(default=None, min_length=1)
    time: UtcDatetime | None = None
    datacontenttype: str | None = Field(default=None, min_length=1)
    dataschema: str | None = Field(default=None, min_length=1)
    data: JsonValue = None
    data_base64: str | None = None
    extensions: dict[str, ExtensionValue] = Field(default_factory=dict)

    @field_validator("extensions")
    @classmethod
    def _check_extensions(cls, value: dict[str, ExtensionValue]) -> dict[str, ExtensionValue]:
        problems = _extension_problems(value)
        if problems:
            raise ValueError("; ".join(f"{p.field}: {p.message}" for p in problems))
        return value

    @field_validator("data_base64")
    @classmethod
    def _check_base64(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error as exc:
                raise ValueError("not valid base64") from exc
        return value

    @model_validator(mode="after")
    def _one_payload(self) -> TriggerEvent:
        if self.data is not None and self.data_base64 is not None:
            raise ValueError("data and data_base64 are mutually exclusive")
        return self

    @property
    def key(self) -> str | None:
        """The Kafka key: the ``partitionkey`` extension if set, else ``subject``."""
        partition_key = self.extensions.get("partitionkey")
        return str(partition_key) if partition_key is not None else self.subject

    def as_dict(self) -> dict[str, Any]:
        """The JSON event format as a dict (also ``event`` in expressions).

        Absent attributes are left out, extensions sit beside the context attributes and
        ``time`` is RFC 3339 text.
        """
        out: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
        }
        for name in ("subject", "datacontenttype", "dataschema"):
            if (value := getattr(self, name)) is not None:
                out[name] = value
        if self.time is not None:
            out["time"] = self.time.isoformat().replace("+00:00", "Z")
        out.update(self.extensions)
        if self.data_base64 is not None:
            out["data_base64"] = self.data_base64
        elif self.data is not None:
            out["data"] = self.data
        return out

    def to_structured(self) -> tuple[list[tuple[str, bytes]], bytes]:
        """Headers and value of this event in structured content mode."""
        return [("content-type", CLOUDEVENTS_JSON.encode())], orjson.dumps(self.as_dict())

    def to_binary(self) -> tuple[list[tuple[str, bytes]], bytes | None]:
        """Headers and value of this event in binary content mode."""
        attributes = self.as_dict()
        data = attributes.pop("data", None)
        encoded = attributes.pop("data_base64", None)
        content_type = attributes.pop("datacontenttype", None)
        headers = [
            (f"ce_{name}", _header_text(value).encode()) for name, value in attributes.items()
        ]
        if content_type is not None:
            headers.append(("content-type", content_type.encode()))
        return headers, _binary_value(data, encoded, content_type)


class TriggerFields(NamedTuple):
    """A trigger as the rule engine reads it.

    Attributes:
        event: ``TriggerEvent.as_dict()``: the JSON event format as a dict.
        time: The event's ``time`` (UTC), if it has one.
    """

    event: dict[str, Any]
    time: datetime | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OPTIONAL_TEXT = ("subject", "datacontenttype", "dataschema")


def trigger_fields(record: Mapping[str, Any]) -> TriggerFields | None:
    """The event dict of a trigger record read from Avro, without building the model.

    Checks what ``TriggerEvent`` checks of such a record (the Avro schema has already fixed
    every type); returns None for anything rarer (``data_base64``, a doubtful extension), so
    the caller validates the full model and reports exactly what is wrong.

    Args:
        record: The Avro record as read: ``time`` in microseconds, ``data`` as JSON text.
    """
    if record["specversion"] != "1.0" or not (record["id"] and record["source"] and record["type"]):
        return None
    if record["data_base64"] is not None or any(record[n] == "" for n in _OPTIONAL_TEXT):
        return None
    extensions = record["extensions"]
    if extensions and _extension_problems(extensions):
        return None
    out: dict[str, Any] = {
        "specversion": "1.0",
        "id": record["id"],
        "source": record["source"],
        "type": record["type"],
    }
    for name in _OPTIONAL_TEXT:
        if (value := record[name]) is not None:
            out[name] = value
    micros, when = record["time"], None
    if micros is not None:
        when, out["time"] = _utc_time(micros)
    out.update(extensions)
    data = orjson.loads(record["data"])
    if data is not None:
        out["data"] = data
    return TriggerFields(out, when)


_SECONDS: dict[int, tuple[datetime, str]] = {}


def _utc_time(micros: int) -> tuple[datetime, str]:
    """A timestamp and its RFC 3339 text as `as_dict` writes it, with the whole second cached
    (isoformat alone costs more than the rest of a trigger's decoding; triggers come in time
    order, so consecutive ones mostly share their second)."""
    seconds, fraction = divmod(micros, 1_000_000)
    cached = _SECONDS.get(seconds)
    if cached is None:
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        at = _EPOCH + timedelta(seconds=seconds)
        cached = _SECONDS[seconds] = (at, at.isoformat().removesuffix("+00:00"))
    at, text = cached
    if fraction:
        return at.replace(microsecond=fraction), f"{text}.{fraction:06d}Z"
    return at, text + "Z"


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # CloudEvents' canonical string form
    return str(value)


def _binary_value(data: Any, encoded: str | None, content_type: str | None) -> bytes | None:
    if encoded is not None:
        return base64.b64decode(encoded)
    if data is None:
        return None
    if isinstance(data, str) and content_type is not None and not _is_json(content_type):
        return data.encode()  # text keeps its own bytes; no content type means JSON
    return orjson.dumps(data)


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media in ("application/json", "text/json") or media.endswith("+json")


def _extension_problems(extensions: Mapping[str, Any]) -> list[TriggerProblem]:
    problems = []
    for name, item in extensions.items():
        if not _EXTENSION_NAME.match(name) or name in _RESERVED:
            problems.append(
                TriggerProblem(
                    field=name,
                    message="extension names are lower-case a-z and 0-9 "
                    "and not a context attribute",
                )
            )
        elif (
            isinstance(item, int)
            and not isinstance(item, bool)
            and not (_INT32[0] <= item <= _INT32[1])
        ):
            problems.append(TriggerProblem(field=name, message="CloudEvents integers are 32-bit"))
    return problems


def _validate(attributes: dict[str, Any]) -> TriggerEvent:
    extensions = attributes.get("extensions", {})
    problems = _extension_problems(extensions)
    bad = {p.field for p in problems}
    attributes["extensions"] = {k: v for k, v in extensions.items() if k not in bad}
    try:
        event = TriggerEvent.model_validate(attributes)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            if (problem := _from_pydantic(err)) not in problems:
                problems.append(problem)
    if problems:
        raise InvalidTrigger(problems)
    return event


def _from_pydantic(err: Any) -> TriggerProblem:
    loc = [str(part) for part in err["loc"]]
    message = str(err["msg"]).removeprefix("Value error, ")
    if loc[:1] == ["extensions"] and len(loc) > 1:
        # Extensions are top-level attributes to the producer; a deeper loc is a union branch.
        loc, message = loc[1:2], "an extension value is a string, an integer or a boolean"
    return TriggerProblem(field=".".join(loc) or "event", message=message)


def parse_structured(body: bytes | str | Mapping[str, Any]) -> TriggerEvent:
    """Parse the JSON event format (structured content mode).

    Args:
        body: The record value, or an already decoded JSON object.

    Raises:
        InvalidTrigger: The body is not a JSON object or not a valid CloudEvent.
    """
    if isinstance(body, bytes | str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _problem("event", f"not JSON: {exc}") from None
    if not isinstance(body, Mapping):
        raise _problem("event", "a structured CloudEvent is a JSON object")
    attributes: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for name, value in body.items():
        if value is None:
            continue  # the JSON format treats a null attribute as absent
        target = attributes if name in _RESERVED else extensions
        target[name] = value
    if "extensions" in attributes:
        raise _problem("extensions", "extensions are top-level attributes in the JSON format")
    attributes["extensions"] = extensions
    return _validate(attributes)


def parse_binary(headers: Iterable[tuple[str, bytes | None]], value: bytes | None) -> TriggerEvent:
    """Parse binary content mode: ``ce_*`` headers plus the data in the record value.

    JSON data (``application/json``, ``*/*+json``, or no content type and a value that parses)
    becomes ``data``; ``text/*`` becomes a JSON string; anything else becomes ``data_base64``.

    Raises:
        InvalidTrigger: A header is not UTF-8, an attribute is invalid, or declared JSON
            data does not parse.
    """
    attributes: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    for name, raw in headers:
        lowered = name.lower()
        if lowered == "content-type":
            attributes["datacontenttype"] = _header_value(name, raw)
        elif lowered.startswith("ce_"):
            attribute = lowered[3:]
            target = attributes if attribute in _CONTEXT_ATTRIBUTES else extensions
            target[attribute] = _header_value(attribute, raw)
    attributes["extensions"] = extensions
    attributes.update(_binary_data(value, attributes.get("datacontenttype")))
    return _validate(attributes)


def _header_value(field: str, raw: bytes | None) -> str:
    try:
        return (raw or b"").decode()
    except UnicodeDecodeError:
        raise _problem(field, "header value is not UTF-8") from None


def _binary_data(value: bytes | None, content_type: str | None) -> dict[str, Any]:
    if not value:
        return {}
    if _is_json(content_type):
        try:
            return {"data": orjson.loads(value)}
        except orjson.JSONDecodeError as exc:
            raise _problem("data", f"declared {content_type} but not JSON: {exc}") from None
    if content_type is None:
        try:
            return {"data": orjson.loads(value)}
        except orjson.JSONDecodeError:
            pass  # undeclared and not JSON: keep it as text or bytes below
    if content_type is None or content_type.lower().startswith("text/"):
        try:
            return {"data": value.decode()}
        except UnicodeDecodeError:
            if content_type is not None:
                raise _problem("data", f"declared {content_type} but not UTF-8") from None
    return {"data_base64": base64.b64encode(value).decode()}


def parse_kafka(headers: Iterable[tuple[str, bytes | None]], value: bytes | None) -> TriggerEvent:
    """Parse a Kafka record in either CloudEvents content mode.

    The mode, per the Kafka protocol binding and as the SDKs write records:
    ``content-type: application/cloudevents...`` is structured mode; a ``ce_specversion``
    header is binary mode; with no ``ce_*`` header at all, a value that is a JSON object with
    ``specversion`` is structured mode too (the Python SDK 1.x ``to_structured`` labels
    such records ``content-type: application/json``).

    Raises:
        InvalidTrigger: Neither mode yields a valid CloudEvent; the message says which mode
            was chosen and why.
    """
    headers = list(headers)
    mode, why = content_mode(headers, value)
    try:
        if mode == "structured":
            content_type = next((v for k, v in headers if k.lower() == "content-type"), b"")
            typed = (content_type or b"").lower()
            if typed.startswith(b"application/cloudevents") and not typed.startswith(
                    CLOUDEVENTS_JSON.encode()):
                raise _problem("content-type", "only the JSON event format is supported")
            if value is None:
                raise _problem("event", "structured mode needs the event in the record value")
            return parse_structured(value)
        if mode == "binary":
            return parse_binary(headers, value)
    except InvalidTrigger as exc:
        raise InvalidTrigger(exc.problems, context=f"{mode} mode, {why}") from None
    raise InvalidTrigger([TriggerProblem(field="specversion", message=why)],
                         context="neither content mode")


def content_mode(
    headers: Iterable[tuple[str, bytes | None]], value: bytes | None
) -> tuple[str, str]:
    """Which CloudEvents content mode a Kafka record is in, and why: `("structured" |
    "binary" | "none", reason)`."""
    names = {k.lower(): v for k, v in headers}
    content_type = (names.get("content-type") or b"").lower()
    if content_type.startswith(b"application/cloudevents"):
        return "structured", f"content-type is {content_type.decode(errors='replace')}"
    if "ce_specversion" in names:
        return "binary", "the record has a ce_specversion header"
    if not any(name.startswith("ce_") for name in names) and _json_with_specversion(value):
        return "structured", ("no ce_* header and the value is a JSON object with specversion "
                              "(as the Python SDK 1.x writes structured records)")
    declared = content_type.decode(errors="replace") or "absent"
    return "none", (f"no ce_specversion header (binary mode), content-type {declared} "
                    "(structured mode needs application/cloudevents+json or a JSON object "
                    "with specversion and no ce_* header)")


def _json_with_specversion(value: bytes | None) -> bool:
    if not value or value.lstrip()[:1] != b"{":
        return False
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and "specversion" in body
