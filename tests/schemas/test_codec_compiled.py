"""The compiled Avro writers and readers (the codec's hot path) agree with fastavro, the
reference: same bytes written, same values read, and nothing read that fastavro reads
differently. Datums are generated from every branch schema of every topic."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastavro import schemaless_reader, schemaless_writer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.avro.catalogue import CATALOGUE
from schemas.codec import Codec
from schemas.codec_reader import compile_reader
from schemas.codec_topic import HEADER, TopicCodec
from schemas.codec_writer import compile_writer
from tests.schemas.golden import all_event_models
from tests.schemas.test_codec_roundtrip import model_strategy

TOPICS = {role: TopicCodec.build(schemas) for role, schemas in CATALOGUE.items()}
BRANCHES = [(role, name, schema) for role, codec in TOPICS.items()
            for name, schema in codec.branches]
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def datums(schema: Any) -> st.SearchStrategy[Any]:
    """Values of an expanded schema in the form the codec's model converters produce."""
    if isinstance(schema, list):
        # The converters write a record inside a union in fastavro's (name, record) notation.
        return st.one_of([_member(m) for m in schema])
    if isinstance(schema, dict):
        kind = schema["type"]
        if schema.get("logicalType") == "timestamp-micros":
            return st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))]))
        if kind == "record":
            return st.fixed_dictionaries({f["name"]: datums(f["type"]) for f in schema["fields"]})
        if kind == "enum":
            return st.sampled_from(schema["symbols"])
        if kind == "array":
            return st.lists(datums(schema["items"]), max_size=3)
        if kind == "map":
            return st.dictionaries(st.text(max_size=6), datums(schema["values"]), max_size=3)
        return datums(kind)
    return {
        "null": st.none(), "boolean": st.booleans(), "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1), "double": st.floats(allow_nan=False),
        "float": st.floats(width=32, allow_nan=False), "string": st.text(max_size=12),
        "bytes": st.binary(max_size=12),
    }[schema]


def _member(member: Any) -> st.SearchStrategy[Any]:
    if isinstance(member, dict) and member.get("type") == "record":
        return datums(member).map(lambda record: (member["name"], record))
    return datums(member)


def fastavro_bytes(schema: Any, datum: Any) -> bytes:
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, datum)
    return buffer.getvalue()


def fastavro_read(schema: Any, data: bytes) -> tuple[Any, int]:
    buffer = io.BytesIO(data)
    value = schemaless_reader(buffer, schema, None, return_record_name=True,
                              return_record_name_override=True)
    return value, buffer.tell()


@pytest.mark.parametrize(("role", "name", "schema"), BRANCHES,
                         ids=[name.rsplit(".", 1)[-1] for _, name, _ in BRANCHES])
@SETTINGS
@given(data=st.data())
def test_the_compiled_writer_and_reader_agree_with_fastavro(role: str, name: str, schema: Any,
                                                           data: st.DataObject) -> None:
    datum = data.draw(datums(schema))
    writer, reader = compile_writer(schema), compile_reader(schema)
    assert writer is not None and reader is not None, f"{name} is not compiled"

    out = bytearray()
    writer(out, datum)  # a datum in the converters' form is never refused

    expected = fastavro_bytes(schema, datum)
    assert bytes(out) == expected
    assert reader(expected, 0) == fastavro_read(schema, expected)


@pytest.mark.parametrize(("role", "name", "schema"), BRANCHES,
                         ids=[name.rsplit(".", 1)[-1] for _, name, _ in BRANCHES])
@SETTINGS
@given(data=st.data())
def test_the_compiled_reader_never_reads_damaged_bytes_unlike_fastavro(
        role: str, name: str, schema: Any, data: st.DataObject) -> None:
    good = fastavro_bytes(schema, data.draw(datums(schema)))
    assume(good)
    at = data.draw(st.integers(0, len(good) - 1))
    damaged = good[:at] + bytes([data.draw(st.integers(0, 255))]) + good[at + 1:]
    damaged = damaged[:data.draw(st.integers(0, len(damaged)))]
    reader = compile_reader(schema)
    assert reader is not None
    try:
        fast = reader(damaged, 0)
    except Exception:
        return  # refused: the codec then asks fastavro, which names the fault
    assert fast == fastavro_read(schema, damaged)


CODEC = Codec()


@pytest.mark.parametrize(("role", "model"), all_event_models(),
                         ids=[f"{r}:{m.__name__}" for r, m in all_event_models()])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_event_takes_the_compiled_path_with_fastavros_bytes(
        role: str, model: type[BaseModel], data: st.DataObject) -> None:
    event = data.draw(model_strategy(model))
    assume(event is not None)
    topic = f"hw.{role}"
    codec = CODEC._topic(topic)
    branch = codec.writers[type(event)]
    reference = codec.value_header + branch.index + fastavro_bytes(branch.schema,
                                                                   branch.encode(event))

    encoded = CODEC.encode_value(topic, event)

    assert encoded == reference
    assert codec.read_fast(encoded) is not None  # decoded without fastavro
    assert CODEC.decode_value(topic, encoded) == event


def test_an_integer_beyond_64_bits_is_refused_by_both_paths_alike() -> None:
    writer = compile_writer({"type": "record", "name": "R", "fields": [
        {"name": "n", "type": "long"}]})
    assert writer is not None
    with pytest.raises(TypeError):
        writer(bytearray(), {"n": 2**64})
    with pytest.raises((ValueError, OverflowError)):
        fastavro_bytes({"type": "record", "name": "R", "fields": [{"name": "n", "type": "long"}]},
                       {"n": 2**64})


def test_a_record_of_an_older_schema_id_is_not_read_by_the_compiled_reader() -> None:
    codec = CODEC._topic("hw.commands")
    other_id = HEADER.pack(0, 12345)
    data = codec.value_header + b"\x00" + b"\x00" * 8
    assert codec.read_fast(other_id + data[HEADER.size:]) is None


def test_a_time_written_again_or_after_another_is_written_as_fastavro_writes_it() -> None:
    micros = {"type": "long", "logicalType": "timestamp-micros"}
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "a", "type": micros}, {"name": "b", "type": micros}]}
    writer = compile_writer(schema)
    assert writer is not None
    first = datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC)
    second = datetime(2026, 3, 1, 18, 30, 0, 7, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    for a, b in [(first, first), (first, second), (second, first), (second, second)]:
        out = bytearray()
        writer(out, {"a": a, "b": b})
        assert bytes(out) == fastavro_bytes(schema, {"a": a, "b": b})
