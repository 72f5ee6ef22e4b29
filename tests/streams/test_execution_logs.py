"""Execution logs on a real broker: the engine runs `log` steps at several levels, the API's
projector folds the history, and the detail shows exactly the lines at or above the
workflow's `monitoring.log_level`, in order, with their step path."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from projections import create_api
from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from tests.projections.apikit import client_of
from tests.streams.kit import NOW, Client, running_engine

pytestmark = pytest.mark.kafka


def _log(step_id: str, level: str, message: str) -> dict[str, Any]:
    return {"id": step_id, "action": "log", "with": {"level": level, "message": message}}


NOISY = WorkflowDefinition.model_validate({
    "id": "noisy", "name": "Logs at every level", "monitoring": {"log_level": "info"},
    "steps": [
        _log("trace", "debug", "not kept"),
        _log("hello", "info", "hello ${ input.who }"),
        {"id": "each", "for_each": "input.items", "steps": [
            _log("item_debug", "debug", "item ${ item } (debug)"),
            _log("item_warn", "warn", "item ${ item }")]},
        _log("oops", "error", "${ size(input.items) } items done"),
    ],
})


async def test_the_detail_shows_the_lines_at_or_above_the_workflow_level_in_order(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:
    api = create_api(kafka_bootstrap, hw_topics)
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
            kafka_bootstrap, hw_topics, tmp_path), client_of(api) as http:
        await client.publish(NOISY)
        await client.send("commands", "ex-logs", StartExecution(
            command_id="start-ex-logs", execution_id="ex-logs", time=NOW, workflow_id="noisy",
            input={"who": "ada", "items": ["a", "b"]}))
        body: dict[str, Any] = {}
        for _ in range(300):
            response = await http.get("/executions/ex-logs")
            if response.status_code == 200:
                body = response.json()
                if body["summary"]["status"] in ("completed", "failed"):
                    break
            await asyncio.sleep(0.1)
    assert body["summary"]["status"] == "completed", body
    logs = body["detail"]["logs"]
    assert [(x["step"], x["level"], x["message"]) for x in logs] == [
        ("hello", "info", "hello ada"),
        ("each/0/item_warn", "warning", "item a"),
        ("each/1/item_warn", "warning", "item b"),
        ("oops", "error", "2 items done"),
    ]
    assert [x["seq"] for x in logs] == sorted(x["seq"] for x in logs)
    assert body["detail"]["logs_dropped"] == 0
    # The filtered steps still completed, with the output the action would have given.
    assert body["detail"]["steps"]["trace"]["output"] == {"message": "not kept"}
