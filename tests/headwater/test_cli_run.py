"""`headwater run` refuses what the engine would refuse, with the reason and exit 2, as the API
answers 404/409; a version range picks an active version as the engine does."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from typer.testing import CliRunner

from headwater.cli import app
from headwater.publish import Publisher
from schemas.commands import StartExecution
from schemas.definition_events import DefinitionStatusChanged
from schemas.definitions import WorkflowDefinition
from tests.projections.apikit import read_records
from tests.streams.kit import NOW

pytestmark = pytest.mark.kafka


def _workflow(workflow_id: str, version: str, **fields: object) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({"id": workflow_id, "name": workflow_id,
                                              "version": version,
                                              "steps": [{"id": "a", "action": "log"}], **fields})


async def test_run_fails_with_the_reason_for_unknown_paused_or_unmatched(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with Publisher(kafka_bootstrap, topic_prefix) as publisher:
        await publisher.definitions([_workflow("live", "1.2.0"), _workflow("live", "2.0.0"),
                                     _workflow("sleepy", "1.0.0"),
                                     _workflow("typed", "1.0.0", inputs={
                                         "n": {"type": "integer", "required": True}})])
        paused = DefinitionStatusChanged(kind="workflow", definition_id="sleepy", version="1.0.0",
                                         status="paused", changed_at=NOW.replace(year=2030))
        topic = hw_topics["definitions"]
        await publisher._producer.send_and_wait(topic, publisher.codec.encode_value(topic, paused),
                                                key=publisher.codec.encode_key(topic, paused.key))
    monkeypatch.setenv("HEADWATER_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("HEADWATER_TOPIC_PREFIX", topic_prefix)

    async def run(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(CliRunner().invoke, app, ["run", *args])
        return result.exit_code, result.output

    assert await run("nowhere") == (2, "error: not started: workflow 'nowhere' not found\n")
    code, said = await run("sleepy")
    assert code == 2 and "has no active version" in said
    code, said = await run("live", "--version", "^3")
    assert code == 2 and "no active version in '^3'" in said
    code, said = await run("live", "--version", "not a range!")
    assert code == 2 and "neither a version nor a range" in said
    code, said = await run("typed", "--input", '{"n": "three"}')
    assert code == 2 and "input.n: n must be of type integer, not string" in said
    code, said = await run("live", "--version", "^1", "--json", "--id", "live-run-1")
    assert code == 0 and orjson.loads(said) == {"execution_id": "live-run-1"}
    [start] = await read_records(kafka_bootstrap, hw_topics["commands"], 1, topic_prefix)
    assert isinstance(start, StartExecution) and start.version == "^1"
