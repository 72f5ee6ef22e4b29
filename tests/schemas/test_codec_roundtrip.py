"""Every event type survives model -> Avro bytes -> model unchanged (hypothesis)."""

from __future__ import annotations

import base64
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import annotated_types
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, JsonValue, ValidationError

from schemas.avro._types import _PYDANTIC_DATETIMES
from schemas.codec import Codec
from schemas.triggers import TriggerEvent
from tests.schemas.golden import all_event_models

INT64 = (-(2**63), 2**63 - 1)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(*INT64) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def strategy_for(annotation: Any, metadata: list[Any] = ()) -> st.SearchStrategy[Any]:
    """Values of a field annotation, honouring the length and bound constraints we use."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return strategy_for(args[0], [*metadata, *args[1:]])
    if annotation is Any or annotation is JsonValue:
        return json_values
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(a, metadata) for a in args])
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (list, tuple):
        return st.lists(strategy_for(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=8), strategy_for(args[1]), max_size=3)
    return _class_strategy(annotation, metadata)


def _class_strategy(tp: Any, metadata: list[Any]) -> st.SearchStrategy[Any]:
    if tp is type(None):
        return st.none()
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return model_strategy(tp)
    if tp is bool:
        return st.booleans()
    if tp is int:
        low = max([m.ge for m in metadata if isinstance(m, annotated_types.Ge)] + [INT64[0]])
        return st.integers(low, INT64[1])
    if tp is float:
        return st.floats(allow_nan=False)
    if tp is str:
        low = max([m.min_length for m in metadata if isinstance(m, annotated_types.MinLen)] + [0])
        return st.text(min_size=low, max_size=12)
    if tp is bytes:
        return st.binary(max_size=12)
    if tp is datetime or tp in _PYDANTIC_DATETIMES:
        return st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1),
                            timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]))
    raise NotImplementedError(f"no strategy for {tp!r}: extend strategy_for")


def model_strategy(model: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    """Valid instances of ``model``: required fields always, optional fields sometimes."""
    if model is TriggerEvent:
        return trigger_events()
    required = {n: strategy_for(f.annotation, f.metadata) for n, f in model.model_fields.items()
                if f.is_required()}
    optional = {n: strategy_for(f.annotation, f.metadata) for n, f in model.model_fields.items()
                if not f.is_required() and n != "type"}
    return st.fixed_dictionaries(required, optional=optional).map(lambda d: _validate(model, d))


def _validate(model: type[BaseModel], data: dict[str, Any]) -> BaseModel | None:
    try:
        return model.model_validate(data)
    except ValidationError:
        return None  # a cross-field rule the strategy does not know; assume() drops it


# Context attribute names (and data) cannot be extension names.
_TAKEN = frozenset({"data", "id", "source", "type", "subject", "time", "specversion",
                    "datacontenttype", "dataschema"})


@st.composite
def trigger_events(draw: st.DrawFn) -> TriggerEvent:
    """CloudEvents as producers send them: extension names and values as the spec allows,
    and a payload consistent with its content type (JSON, text or bytes)."""
    kind = draw(st.sampled_from(["json", "text", "bytes"]))
    payload: dict[str, Any] = {
        "json": {"datacontenttype": draw(st.none() | st.just("application/json")),
                 "data": draw(json_values)},
        "text": {"datacontenttype": "text/plain", "data": draw(st.text(max_size=10))},
        "bytes": {"datacontenttype": "application/octet-stream",
                  "data_base64": base64.b64encode(draw(st.binary(max_size=8))).decode()},
    }[kind]
    return TriggerEvent(
        id=draw(st.text(min_size=1, max_size=10)),
        source=draw(st.text(min_size=1, max_size=10)),
        type=draw(st.text(min_size=1, max_size=10)),
        subject=draw(st.none() | st.text(min_size=1, max_size=10)),
        time=draw(st.none() | _class_strategy(datetime, [])),
        extensions=draw(st.dictionaries(
            st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True).filter(lambda n: n not in _TAKEN),
            st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.text(max_size=8), max_size=3)),
        **payload,
    )


CODEC = Codec()


@pytest.mark.parametrize(("role", "model"), all_event_models(),
                         ids=[f"{r}:{m.__name__}" for r, m in all_event_models()])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_event_round_trips_through_avro(role: str, model: type[BaseModel],
                                               data: st.DataObject) -> None:
    event = data.draw(model_strategy(model))
    assume(event is not None)
    topic = f"hw.{role}"

    decoded = CODEC.decode_value(topic, CODEC.encode_value(topic, event), partition=0, offset=1)

    assert decoded == event
    assert type(decoded) is type(event)


@pytest.mark.parametrize("role", sorted({role for role, _ in all_event_models()}))
@given(key=st.text(max_size=40))
def test_keys_round_trip(role: str, key: str) -> None:
    topic = f"hw.{role}"
    value: str | bytes = key.encode() if role == "dead-letters" else key
    assert CODEC.decode_key(topic, CODEC.encode_key(topic, value)) == value


def test_a_null_key_stays_null_so_kafka_spreads_the_records() -> None:
    assert CODEC.encode_key("hw.triggers", None) is None
    assert CODEC.decode_key("hw.triggers", None) is None
