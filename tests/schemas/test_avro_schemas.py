"""The committed .avsc files are exactly what the models generate, and cover every event."""

from __future__ import annotations

import fastavro
import pytest

from schemas import commands, executions
from schemas.avro.catalogue import AVSC_DIR, CATALOGUE, generate_files, key_schema, value_schema


def test_committed_schemas_match_the_models() -> None:
    drifted = [name for name, text in generate_files().items()
               if not (AVSC_DIR / name).exists() or (AVSC_DIR / name).read_text() != text]
    assert drifted == [], f"run `python -m schemas.avro.catalogue` to regenerate {drifted}"


def test_no_stale_schema_files_are_left_behind() -> None:
    assert {p.name for p in AVSC_DIR.glob("*.avsc")} == set(generate_files())


def test_every_topic_of_the_design_has_a_key_and_value_schema() -> None:
    from infra.topics import TOPICS

    assert {spec.role for spec in TOPICS} <= set(CATALOGUE)
    for role in CATALOGUE:
        fastavro.parse_schema(key_schema(role))
        fastavro.parse_schema(value_schema(role))


def test_every_command_and_execution_event_type_is_in_its_topic_union() -> None:
    assert set(CATALOGUE["commands"].events) == set(commands.COMMAND_TYPES)
    assert set(CATALOGUE["executions"].events) == set(executions.EVENT_TYPES)


@pytest.mark.parametrize("role", sorted(CATALOGUE))
def test_each_record_name_carries_its_topic_and_major_version(role: str) -> None:
    names = [record["name"] for record in value_schema(role)]
    namespaces = {record["namespace"] for record in value_schema(role)}
    assert len(names) == len(set(names)) == len(CATALOGUE[role].events)
    assert namespaces == {f"headwater.{role.replace('-', '_')}.v1"}


def test_free_form_json_fields_are_strings_and_defaults_match_the_models() -> None:
    (started,) = [r for r in value_schema("executions") if r["name"] == "ExecutionStarted"]
    fields = {f["name"]: f for f in started["fields"]}
    assert fields["variables"] == {**fields["variables"], "type": "string", "default": "{}"}
    assert fields["triggered_by"]["type"] == ["null", "string"]
    assert fields["triggered_by"]["default"] is None
    assert fields["time"]["type"] == {"type": "long", "logicalType": "timestamp-micros"}
