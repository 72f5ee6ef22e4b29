"""The in-process schema registry behaves like the Confluent one the codec will later use."""

from __future__ import annotations

import copy

import orjson
import pytest

from schemas.avro.catalogue import value_schema
from schemas.codec import Codec
from schemas.registry import (
    InMemorySchemaRegistry,
    SchemaRegistry,
    SchemaRegistryError,
    schema_fingerprint_id,
    subject_name,
)
from schemas.tasks import TaskRequested
from tests.schemas.golden import sample_event

TASKS = orjson.dumps(value_schema("tasks")).decode()


def _with_field(field: dict[str, object]) -> str:
    schema = copy.deepcopy(value_schema("tasks"))
    schema[0]["fields"].append(field)
    return orjson.dumps(schema).decode()


def test_it_satisfies_the_protocol_the_codec_uses() -> None:
    registry: SchemaRegistry = InMemorySchemaRegistry()
    assert registry.register("hw.tasks-value", TASKS) == schema_fingerprint_id(TASKS)


def test_subjects_follow_the_topic_name_strategy() -> None:
    assert subject_name("hw.tasks", is_key=False) == "hw.tasks-value"
    assert subject_name("hw.tasks", is_key=True) == "hw.tasks-key"


def test_registering_is_idempotent_and_versions_count_up() -> None:
    registry = InMemorySchemaRegistry()
    first = registry.register("s", TASKS)
    assert registry.register("s", TASKS) == first
    second = registry.register("s", _with_field({"name": "x", "type": "long", "default": 0}))
    assert second != first
    assert registry.get_versions("s") == [1, 2]
    assert registry.get_version("s", "latest").schema_id == second
    assert registry.get_version("s", 1).schema_id == first
    assert registry.lookup("s", TASKS).version == 1
    assert registry.get_subjects() == ["s"]


def test_ids_agree_across_processes_and_ignore_docs() -> None:
    documented = copy.deepcopy(value_schema("tasks"))
    documented[0]["doc"] = "reworded"
    assert InMemorySchemaRegistry().register("a", TASKS) == InMemorySchemaRegistry().register("b", TASKS)
    assert schema_fingerprint_id(orjson.dumps(documented).decode()) == schema_fingerprint_id(TASKS)


def test_an_incompatible_version_is_refused_under_backward() -> None:
    registry = InMemorySchemaRegistry()
    registry.register("s", TASKS)
    breaking = _with_field({"name": "x", "type": "long"})
    assert registry.test_compatibility("s", breaking) is False
    with pytest.raises(SchemaRegistryError) as caught:
        registry.register("s", breaking)
    assert caught.value.error_code == 409
    assert InMemorySchemaRegistry(compatibility="NONE").register("s", breaking) > 0


@pytest.mark.parametrize(("call", "code"), [
    (lambda r: r.get_schema(12345), 40403),
    (lambda r: r.get_version("nope", 1), 40401),
    (lambda r: r.get_versions("nope"), 40401),
    (lambda r: r.register("s", "{not json"), 42201),
    (lambda r: r.register("s", '{"type": "record"}'), 42201),
])
def test_errors_carry_confluent_codes(call, code: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SchemaRegistryError) as caught:
        call(InMemorySchemaRegistry())
    assert caught.value.error_code == code


def test_two_codecs_sharing_nothing_read_each_others_records() -> None:
    event = sample_event(TaskRequested)
    data = Codec(prefix="a.").encode_value("a.tasks", event)
    assert Codec(prefix="a.").decode_value("a.tasks", data) == event
