"""`headwater test`: a definition file run here, a published workflow run by the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from headwater.cli import app
from headwater.cli_testrun import parse_mock
from schemas.definition_events import DefinitionPublished
from tests.projections.apikit import make_api, served
from tests.projections.histories import T0

runner = CliRunner()

FLOW = {
    "kind": "workflow", "id": "orders", "name": "Orders",
    "steps": [
        {"id": "fetch", "action": "http", "with": {"url": "https://shop.example/${ input.id }"},
         "retry": {"max_attempts": 2, "initial_interval": "1m"}},
        {"id": "big", "type": "condition", "default": "small",
         "branches": [{"when": "steps.fetch.output.total > 100", "next": "approve"}]},
        {"id": "approve", "type": "wait", "signal": "approved", "timeout": "1d", "next": "$end"},
        {"id": "small", "action": "transform", "with": {"total": "${ steps.fetch.output.total }"}},
    ],
    "outputs": {"total": "${ steps.fetch.output.total }"},
}


def test_mock_values_are_json_outputs_plain_strings_or_errors() -> None:
    assert parse_mock('{"a": 1}') == {"output": {"a": 1}}
    assert parse_mock("hello") == {"output": "hello"}
    assert parse_mock("error:unavailable:down for maintenance") == {
        "error": {"code": "unavailable", "message": "down for maintenance"}}


def test_a_definition_file_runs_here_with_mocks_and_signals(tmp_path: Path) -> None:
    file = tmp_path / "orders.yaml"
    file.write_text(yaml.safe_dump(FLOW))
    result = runner.invoke(app, ["test", str(file), "--input", '{"id": "o-1"}',
                                 "--mock", 'fetch={"total": 250}',
                                 "--signal", 'approved={"by": "ann"}', "--json"])
    assert result.exit_code == 0, result.output
    run = orjson.loads(result.output)
    assert run["path"] == ["fetch", "big", "approve"]
    assert run["steps"]["approve"]["output"] == {"by": "ann"}
    assert run["output"] == {"total": 250}
    human = runner.invoke(app, ["test", str(file), "-i", '{"id": "o-2"}', "-m", 'fetch={"total": 3}'])
    assert human.exit_code == 0, human.output
    assert "small" in human.output and "completed" in human.output and "approve" not in human.output


def test_a_failing_mock_fails_the_run_with_exit_code_1(tmp_path: Path) -> None:
    file = tmp_path / "orders.json"
    file.write_bytes(orjson.dumps(FLOW))
    result = runner.invoke(app, ["test", str(file), "-i", '{"id": 1}', "-m", "fetch=error:down",
                                 "--json"])
    assert result.exit_code == 1
    run = orjson.loads(result.output)
    assert run["status"] == "failed" and run["steps"]["fetch"]["attempts"] == 2
    assert run["error"]["code"] == "down"


def test_an_invalid_file_or_input_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_bytes(orjson.dumps({**FLOW, "steps": [{"id": "a", "action": "log", "next": "zz"}]}))
    refused = runner.invoke(app, ["test", str(file)])
    assert refused.exit_code == 1 and "$.definition.steps[0].next" in refused.output
    assert runner.invoke(app, ["test", str(file), "--input", "[1]"]).exit_code == 2
    assert runner.invoke(app, ["test", str(file), "--mock", "nameless"]).exit_code == 2


@pytest.mark.kafka
async def test_a_published_workflow_runs_by_id_through_the_api(
        kafka_bootstrap: str, hw_topics: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    published = DefinitionPublished(kind="workflow", definition_id="orders", version="1.0.0",
                                    definition=FLOW, status="active", published_at=T0)
    api = make_api(kafka_bootstrap, hw_topics, [published])
    async with served(api) as url:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        result = await asyncio.to_thread(runner.invoke, app, [
            "test", "orders", "-i", '{"id": 9}', "-m", 'fetch={"total": 1}', "--json"])
        missing = await asyncio.to_thread(runner.invoke, app, ["test", "nope"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["path"] == ["fetch", "big", "small"]
    assert missing.exit_code == 1 and "404" in missing.output
