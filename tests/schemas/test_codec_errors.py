"""Undecodable bytes raise DecodeError naming topic, partition, offset and reason; nothing else."""

from __future__ import annotations

import contextlib
import copy
import io
import struct
from datetime import UTC, datetime

import fastavro
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.avro.catalogue import value_schema
from schemas.codec import Codec, DecodeError, DecodeReason, EncodeError
from schemas.dead_letters import DeadLetter
from schemas.registry import InMemorySchemaRegistry
from schemas.tasks import TaskRequested
from tests.schemas.golden import all_event_models, sample_event

NOW = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture
def codec() -> Codec:
    return Codec(prefix="t1.")


@pytest.fixture
def task() -> TaskRequested:
    return TaskRequested(execution_id="ex-1", seq=4, task_id="ex-1:t4", step_id="charge",
                         task_type="http", params={"url": "https://x"}, idempotency_key="ex-1:t4",
                         requested_at=NOW)


def decode_error(codec: Codec, data: bytes | None, topic: str = "t1.tasks") -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        codec.decode_value(topic, data, partition=3, offset=42)
    assert (caught.value.topic, caught.value.partition, caught.value.offset) == (topic, 3, 42)
    assert topic in str(caught.value) and "@42" in str(caught.value)
    return caught.value


def test_the_wire_format_is_magic_byte_schema_id_then_avro(codec: Codec, task: TaskRequested) -> None:
    data = codec.encode_value("t1.tasks", task)
    schema_id = codec.registry.get_version("t1.tasks-value", "latest").schema_id
    assert data[0] == 0 and struct.unpack(">I", data[1:5])[0] == schema_id
    body = fastavro.schemaless_reader(io.BytesIO(data[5:]), fastavro.parse_schema(value_schema("tasks")))
    assert body["task_id"] == "ex-1:t4" and orjson.loads(body["params"]) == {"url": "https://x"}


def test_unknown_magic_byte(codec: Codec, task: TaskRequested) -> None:
    data = b"\x01" + codec.encode_value("t1.tasks", task)[1:]
    assert decode_error(codec, data).reason == DecodeReason.UNKNOWN_MAGIC_BYTE


def test_json_where_avro_is_expected_is_an_unknown_magic_byte(codec: Codec) -> None:
    assert decode_error(codec, b'{"task_id": "x"}').reason == DecodeReason.UNKNOWN_MAGIC_BYTE


def test_unknown_schema_id(codec: Codec, task: TaskRequested) -> None:
    data = codec.encode_value("t1.tasks", task)
    error = decode_error(codec, data[:1] + struct.pack(">I", 7) + data[5:])
    assert error.reason == DecodeReason.UNKNOWN_SCHEMA_ID and "7" in error.detail


@pytest.mark.parametrize("cut", [1, 4, 5, 10, -1])
def test_truncated_records(codec: Codec, task: TaskRequested, cut: int) -> None:
    data = codec.encode_value("t1.tasks", task)
    assert decode_error(codec, data[:cut]).reason == DecodeReason.TRUNCATED


def test_trailing_bytes_are_corruption(codec: Codec, task: TaskRequested) -> None:
    data = codec.encode_value("t1.tasks", task) + b"\x00"
    assert decode_error(codec, data).reason == DecodeReason.CORRUPT


def test_a_record_of_another_topic_is_a_schema_mismatch(codec: Codec) -> None:
    letter = DeadLetter(topic="x", partition=0, offset=1, reason="r", failed_at=NOW)
    data = codec.encode_value("t1.dead-letters", letter)
    assert decode_error(codec, data).reason == DecodeReason.SCHEMA_MISMATCH


def test_a_tombstone_is_refused_by_name(codec: Codec) -> None:
    assert decode_error(codec, None).reason == DecodeReason.NULL_VALUE


def test_a_topic_outside_the_prefix_is_refused(codec: Codec, task: TaskRequested) -> None:
    data = codec.encode_value("t1.tasks", task)
    assert decode_error(codec, data, topic="other.tasks").reason == DecodeReason.UNKNOWN_TOPIC
    with pytest.raises(EncodeError):
        codec.encode_value("other.tasks", task)


def test_an_event_on_the_wrong_topic_is_refused_when_encoding(codec: Codec, task: TaskRequested) -> None:
    with pytest.raises(EncodeError, match=r"not an event of topic t1\.commands"):
        codec.encode_value("t1.commands", task)


def test_a_value_avro_cannot_hold_is_an_encode_error(codec: Codec, task: TaskRequested) -> None:
    with pytest.raises(EncodeError):
        codec.encode_value("t1.tasks", task.model_copy(update={"seq": 2**70}))


def test_per_task_type_topics_read_as_the_tasks_role(codec: Codec, task: TaskRequested) -> None:
    data = codec.encode_value("t1.tasks.http", task)
    assert codec.decode_value("t1.tasks.http", data) == task


def test_records_from_an_older_schema_read_with_todays_defaults(task: TaskRequested) -> None:
    older = copy.deepcopy(value_schema("tasks"))
    older[0]["fields"] = [f for f in older[0]["fields"] if f["name"] not in ("scope", "params")]
    registry = InMemorySchemaRegistry()
    old_id = registry.register("t1.tasks-value", orjson.dumps(older).decode())
    body = {**task.model_dump(exclude={"scope", "params"}), "input": "null"}
    buffer = io.BytesIO()
    buffer.write(struct.pack(">bI", 0, old_id))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(older),
                               ("headwater.tasks.v1.TaskRequested", body))

    decoded = Codec(registry, prefix="t1.").decode_value("t1.tasks", buffer.getvalue())

    assert decoded == task.model_copy(update={"scope": "", "params": None})


VALID = {role: Codec().encode_value(f"hw.{role}", sample_event(model))
         for role, model in all_event_models() if model.__name__ in ("TaskRequested", "RuleMatched",
                                                                      "ExecutionStarted", "TriggerEvent")}


@settings(max_examples=300, deadline=None)
@given(role=st.sampled_from(sorted(VALID)), data=st.data())
def test_mutated_records_never_raise_anything_but_decode_error(role: str, data: st.DataObject) -> None:
    original = bytearray(VALID[role])
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(5, len(original) - 1))
        original[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    codec = Codec()
    try:
        codec.decode_value(f"hw.{role}", bytes(original[:cut]), partition=0, offset=9)
    except DecodeError as error:
        assert error.offset == 9 and error.reason in vars(DecodeReason).values()


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_random_bytes_never_raise_anything_but_decode_error(data: bytes) -> None:
    codec = Codec()
    for candidate in (data, b"\x00" + codec.encode_value("hw.tasks", _TASK)[1:5] + data):
        with contextlib.suppress(DecodeError):  # any other exception fails the test
            codec.decode_value("hw.tasks", candidate)


_TASK = TaskRequested(execution_id="e", seq=1, task_id="t", step_id="s", task_type="log",
                      idempotency_key="k", requested_at=NOW)
