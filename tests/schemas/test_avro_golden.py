"""Released schemas stay readable: old data by new readers, new data by old readers.

Checked twice: structurally (the Avro resolution rules, as a registry would) and on data
(records written with one schema and read with the other by fastavro). Adding an event type
to a topic is allowed (old readers dead-letter it); every event type an old reader knows must
stay readable both ways.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import fastavro
import orjson
import pytest
from fastavro.schema import expand_schema
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.avro._compat import problems
from schemas.avro.catalogue import CATALOGUE, key_schema, value_schema
from schemas.avro.release import load_release
from schemas.avro.release import released_versions as schema_releases
from schemas.codec import Codec
from tests.schemas.golden import load_records, released_versions

VERSIONS = schema_releases()
CASES = [(v, role) for v in VERSIONS for role in CATALOGUE
         if CATALOGUE[role].value_file() in load_release(v).files]


def golden(version: str, file: str) -> Any:
    return load_release(version).schema(file)


def _known_branches(old: list[Any], new: list[Any]) -> list[Any]:
    """The branches of ``new`` an old reader knows (by record name)."""
    known = {f"{r['namespace']}.{r['name']}" for r in old}
    return [r for r in new if f"{r['namespace']}.{r['name']}" in known]


def test_there_is_a_released_version_with_golden_records() -> None:
    assert VERSIONS, "no release: run python -m schemas.avro.release v1"
    assert released_versions() == VERSIONS, "run python -m tests.schemas.golden.release vN"


@pytest.mark.parametrize(("version", "role"), CASES)
def test_new_readers_read_old_data(version: str, role: str) -> None:
    entry = CATALOGUE[role]
    assert problems(value_schema(role), golden(version, entry.value_file())) == []
    assert problems(key_schema(role), golden(version, entry.key_file())) == []


@pytest.mark.parametrize(("version", "role"), CASES)
def test_old_readers_read_new_data_of_the_types_they_know(version: str, role: str) -> None:
    entry = CATALOGUE[role]
    old = golden(version, entry.value_file())
    assert problems(old, _known_branches(old, value_schema(role))) == []
    assert problems(golden(version, entry.key_file()), key_schema(role)) == []


def datum(schema: Any) -> st.SearchStrategy[Any]:
    """Any Python datum fastavro can write with the (expanded) schema."""
    if isinstance(schema, list):
        return st.one_of([_branch(b) for b in schema])
    if isinstance(schema, dict):
        logical = schema.get("logicalType")
        if logical == "timestamp-micros":
            return st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC))
        kind = schema["type"]
        if kind == "record":
            return st.fixed_dictionaries({f["name"]: datum(f["type"]) for f in schema["fields"]})
        if kind == "array":
            return st.lists(datum(schema["items"]), max_size=2)
        if kind == "map":
            return st.dictionaries(st.text(max_size=4), datum(schema["values"]), max_size=2)
        return datum(kind)
    return {
        "null": st.none(), "boolean": st.booleans(), "long": st.integers(-(2**63), 2**63 - 1),
        "int": st.integers(-(2**31), 2**31 - 1), "double": st.floats(allow_nan=False),
        "string": st.text(max_size=8), "bytes": st.binary(max_size=8),
    }[schema]


def _branch(schema: Any) -> st.SearchStrategy[Any]:
    if isinstance(schema, dict) and schema.get("type") == "record":
        return datum(schema).map(lambda d, name=schema["name"]: (name, d))  # pick by name
    return datum(schema)


def _write_then_read(writer: Any, reader: Any, value: Any) -> Any:
    buffer = fastavro_io()
    fastavro.schemaless_writer(buffer, writer, value)
    buffer.seek(0)
    return fastavro.schemaless_reader(buffer, writer, reader)


def fastavro_io() -> Any:
    import io

    return io.BytesIO()


def _parsed(schema: Any) -> Any:
    return fastavro.parse_schema(copy.deepcopy(schema))


@pytest.mark.parametrize(("version", "role"), CASES)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_data_written_with_either_schema_is_read_by_the_other(version: str, role: str,
                                                             data: st.DataObject) -> None:
    old = _parsed(golden(version, CATALOGUE[role].value_file()))
    new = _parsed(value_schema(role))
    old_value = data.draw(datum(expand_schema(old)), label="old record")
    _write_then_read(old, new, old_value)  # raises on a resolution failure
    known = _parsed(_known_branches(golden(version, CATALOGUE[role].value_file()), value_schema(role)))
    new_value = data.draw(datum(expand_schema(known)), label="new record")
    _write_then_read(new, old, new_value)


@pytest.mark.parametrize("version", VERSIONS)
def test_golden_sample_records_still_decode_to_the_same_events(version: str) -> None:
    codec = Codec()  # the default codec, as a new user (or an upgraded worker) has it
    records = load_records(version)
    assert records
    for record in records:
        entry = CATALOGUE[record["topic"]]
        model = next(m for m in entry.events if m.__name__ == record["event"])
        decoded = codec.decode_value(f"hw.{record['topic']}", bytes.fromhex(record["value_hex"]))
        assert decoded == model.model_validate_json(orjson.dumps(record["json"])), record["event"]


def test_the_check_catches_a_new_required_field_and_a_removed_one() -> None:
    old = value_schema("tasks")
    added = copy.deepcopy(old)
    added[0]["fields"].append({"name": "priority", "type": "long"})
    removed = copy.deepcopy(old)
    removed[0]["fields"] = [f for f in removed[0]["fields"] if f["name"] != "task_id"]

    assert problems(added, old) == ["$.TaskRequested.priority: new field without a default"]
    assert problems(removed, old) == []
    assert problems(old, removed) == ["$.TaskRequested.task_id: new field without a default"]
    with pytest.raises(fastavro.read.SchemaResolutionError):
        value = ("headwater.tasks.v1.TaskRequested", _sample_task_datum())
        _write_then_read(_parsed(old), _parsed(added), value)


def test_the_check_catches_a_changed_type_and_a_renamed_record() -> None:
    old = value_schema("dead-letters")
    retyped = copy.deepcopy(old)
    next(f for f in retyped[0]["fields"] if f["name"] == "offset")["type"] = "string"
    renamed = copy.deepcopy(old)
    renamed[0]["name"] = "Refused"

    assert problems(retyped, old) == ["$.DeadLetter.offset: writer long cannot be read as string"]
    assert problems(renamed, old) == [
        "$: writer branch headwater.dead_letters.v1.DeadLetter has no reader branch"]


def _sample_task_datum() -> dict[str, Any]:
    return {"type": "task_requested", "execution_id": "e", "seq": 1, "task_id": "t", "step_id": "s",
            "scope": "", "attempt": 1, "task_type": "http", "params": "null", "input": "null",
            "idempotency_key": "k", "deadline": None, "requested_at": datetime.now(UTC),
            "workflow_id": "", "workflow_version": ""}
