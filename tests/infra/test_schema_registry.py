"""The codec against a real schema registry (Apicurio Registry's Confluent API, started by the
``schema_registry_url`` fixture): subjects per topic, BACKWARD set by headwater, the registry's
ids in every record, and records of every release still readable."""

from __future__ import annotations

import copy
import uuid

import orjson
import pytest

from schemas.avro.catalogue import CATALOGUE, value_schema
from schemas.codec import Codec
from schemas.registry import SchemaRegistryError, schema_fingerprint_id
from schemas.registry_http import (
    REGISTRY_UNAVAILABLE,
    URL_VARIABLE,
    ConfluentSchemaRegistry,
    default_registry,
    escape_braces_in_strings,
)
from tests.schemas.golden import all_event_models, load_records, released_versions, sample_event

pytestmark = pytest.mark.registry


def _key(role: str) -> str | bytes:
    return b"k-1" if CATALOGUE[role].key == "bytes" else "k-1"


def _prefix() -> str:
    return f"r{uuid.uuid4().hex[:8]}."


def test_every_topic_registers_under_its_subject_with_backward_and_records_carry_its_ids(
        schema_registry_url: str) -> None:
    prefix = _prefix()
    registry = ConfluentSchemaRegistry(schema_registry_url)
    codec = Codec(registry, prefix=prefix)
    written = []
    for role, model in all_event_models():
        topic = f"{prefix}{role}"
        event = sample_event(model)
        value, key = codec.encode_value(topic, event), codec.encode_key(topic, _key(role))
        written.append((topic, event, value, key))
    for role in CATALOGUE:
        topic = f"{prefix}{role}"
        for kind in ("value", "key"):
            subject = f"{topic}-{kind}"
            latest = registry.get_version(subject, "latest")
            assert registry._call("GET", f"/config/{subject}")["compatibilityLevel"] == "BACKWARD"
            ids = {int.from_bytes((v if kind == "value" else k)[1:5], "big")
                   for t, _, v, k in written if t == topic}
            assert ids == {latest.schema_id}, subject  # the registry's id, not a fingerprint
    # Another process (a new client, nothing cached) reads them through GET /schemas/ids/{id}.
    reader = Codec(ConfluentSchemaRegistry(schema_registry_url), prefix="other.")
    for topic, event, value, key in written:
        role = topic[len(prefix):]
        assert reader.decode_value(f"other.{role}", value) == event
        assert reader.decode_key(f"other.{role}", key) == _key(role)


def test_the_registrys_own_answer_is_the_schema_we_sent(schema_registry_url: str) -> None:
    registry = ConfluentSchemaRegistry(schema_registry_url)
    subject = f"{_prefix()}executions-value"
    text = orjson.dumps(value_schema("executions")).decode()
    schema_id = registry.register(subject, text)
    assert registry.register(subject, text) == schema_id  # idempotent
    returned = registry.get_schema(schema_id)
    fresh = ConfluentSchemaRegistry(schema_registry_url).get_schema(schema_id)
    assert schema_fingerprint_id(fresh) == schema_fingerprint_id(text) == schema_fingerprint_id(returned)
    assert registry.lookup(subject, text).schema_id == schema_id


def test_an_incompatible_change_is_refused_by_the_registry(schema_registry_url: str) -> None:
    registry = ConfluentSchemaRegistry(schema_registry_url)
    subject = f"{_prefix()}tasks-value"
    registry.register(subject, orjson.dumps(value_schema("tasks")).decode())
    changed = copy.deepcopy(value_schema("tasks"))
    changed[0]["fields"].append({"name": "priority", "type": "long"})  # required: not BACKWARD
    text = orjson.dumps(changed).decode()
    assert registry.test_compatibility(subject, text) is False
    with pytest.raises(SchemaRegistryError) as refused:
        registry.register(subject, text)
    assert refused.value.error_code == 409
    compatible = copy.deepcopy(value_schema("tasks"))
    compatible[0]["fields"].append({"name": "priority", "type": "long", "default": 0})
    assert registry.register(subject, orjson.dumps(compatible).decode()) > 0
    assert registry.get_versions(subject) == [1, 2]


def test_the_default_codec_uses_the_registry_of_the_environment_and_reads_every_release(
        schema_registry_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URL_VARIABLE, schema_registry_url)
    assert isinstance(default_registry(), ConfluentSchemaRegistry)
    codec = Codec()
    assert isinstance(codec.registry, ConfluentSchemaRegistry)
    for version in released_versions():  # written before any registry: fingerprint ids
        for record in load_records(version):
            event = codec.decode_value(f"hw.{record['topic']}", bytes.fromhex(record["value_hex"]))
            assert type(event).__name__ == record["event"]


def test_an_unreachable_registry_is_an_error_not_a_bad_record() -> None:
    registry = ConfluentSchemaRegistry("http://127.0.0.1:9/apis/ccompat/v7", timeout_s=2)
    with pytest.raises(SchemaRegistryError) as caught:
        Codec(registry).encode_key("hw.executions", "x")
    assert caught.value.error_code == REGISTRY_UNAVAILABLE
    assert "unreachable" in caught.value.message


def test_braces_inside_strings_are_escaped_and_nothing_else_changes() -> None:
    text = orjson.dumps({"type": "record", "name": "R", "doc": 'say "{hi}" \\ ok',
                         "fields": [{"name": "a", "type": "string", "default": "{}"}]}).decode()
    escaped = escape_braces_in_strings(text)
    assert "{}" not in escaped.replace("{", "", 1)[:-1] or '"{}"' not in escaped
    assert orjson.loads(escaped) == orjson.loads(text)
    assert escaped.count("{") == 2  # the record and the field: structure untouched


def test_confluents_own_deserializer_reads_every_topic(schema_registry_url: str) -> None:
    """What Kafka Connect, ksqlDB or any Confluent client does: the standard AvroDeserializer,
    given only the registry, reads keys and values of every event type of every topic."""
    from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    prefix = _prefix()
    codec = Codec(ConfluentSchemaRegistry(schema_registry_url), prefix=prefix)
    # TopicNameStrategy, as headwater registers; the client's default first asks the registry
    # for "associations" (an endpoint of Confluent's newer API) and, once, waited on Apicurio's
    # answer with no timeout. A timeout makes any such wait an error instead of a hang.
    client = SchemaRegistryClient({"url": schema_registry_url, "timeout": 30})
    deserialize = AvroDeserializer(
        schema_registry_client=client,
        conf={"subject.name.strategy": topic_subject_name_strategy})
    for role, model in all_event_models():
        topic, event = f"{prefix}{role}", sample_event(model)
        value = deserialize(codec.encode_value(topic, event),
                            SerializationContext(topic, MessageField.VALUE))
        key = deserialize(codec.encode_key(topic, _key(role)),
                          SerializationContext(topic, MessageField.KEY))
        assert set(value) == set(model.model_fields), model.__name__
        for name in ("type", "execution_id", "rule_id", "id"):
            if name in model.model_fields:
                assert value[name] == getattr(event, name), (model.__name__, name)
        if CATALOGUE[role].key == "bytes":
            # Confluent's serializers write a "bytes" schema's value raw, not Avro-encoded; ours
            # is Avro (a length, then the bytes), so Confluent hands back that body (events.md).
            assert key == b"\x06" + _key(role)
        else:
            assert key == _key(role)
