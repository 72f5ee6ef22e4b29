"""The example corpus, loading from text and files, and the exported JSON Schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.validation import (
    DefinitionInvalid,
    definition_json_schema,
    json_schemas,
    load_definition,
    load_directory,
    validate_definition,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
FILES = sorted(EXAMPLES.rglob("*.yaml"))


def test_the_corpus_is_large_enough() -> None:
    assert len(FILES) >= 20
    kinds = {type(load_definition(p)) for p in FILES}
    assert kinds == {WorkflowDefinition, RuleDefinition}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_example_validates_without_warnings(path: Path) -> None:
    definition = load_definition(path)
    report = validate_definition(definition.model_dump(mode="json"))
    assert report.ok and report.warnings == [], [str(p) for p in report.errors + report.warnings]
    assert report.definition == definition


def test_load_directory_reads_everything() -> None:
    # examples/ also holds sample events and a durable_rules ruleset (JSON, not definitions).
    folders = ("workflows", "rules")
    assert sum(len(load_directory(EXAMPLES / f)) for f in folders) == len(FILES)


def test_json_text_and_yaml_text_load_alike() -> None:
    yaml_text = "id: a\nname: A\nsteps:\n  - {id: s, action: log}\n"
    json_text = '{"id": "a", "name": "A", "steps": [{"id": "s", "action": "log"}]}'
    assert load_definition(yaml_text) == load_definition(json_text)


def test_invalid_text_raises_with_the_report() -> None:
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition("kind: workflow\nid: a\nname: A\nsteps: [{id: s, action: log, next: t}]")
    assert caught.value.report.codes() == [("$.steps[0].next", "unknown_step")]
    with pytest.raises(DefinitionInvalid) as caught:
        load_definition("steps: [unclosed")
    assert caught.value.report.codes() == [("$", "parse_error")]


def test_kind_is_required_when_it_cannot_be_guessed() -> None:
    assert validate_definition({"id": "a", "name": "A"}).codes() == [("$.kind", "unknown_kind")]


def test_json_schema_describes_both_kinds() -> None:
    schemas = json_schemas()
    workflow = schemas["workflow"]
    assert workflow["$schema"].endswith("2020-12/schema")
    assert set(workflow["required"]) == {"id", "name", "steps"}
    assert "with" in workflow["$defs"]["ActionStep"]["properties"]
    assert "actions" in schemas["rule"]["required"]
    with pytest.raises(ValueError):
        definition_json_schema("pipeline")


def test_examples_satisfy_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    for path in FILES:
        data = yaml.safe_load(path.read_text())
        jsonschema.validate(data, definition_json_schema(data["kind"]))
