"""Templates on the broker: the bundled examples listed beside user templates, a workflow saved
as a template with parameters, searched by category, tag and words, paged over both sources,
instantiated (typed values, refusals with paths), published and run; `headwater templates`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from headwater.cli import app
from projections import create_api
from schemas.template_events import TemplateParameter
from schemas.templates import check_values, placeholders, render
from tests.projections.apikit import served
from tests.streams.kit import running_engine

EXAMPLES = Path(__file__).parents[2] / "examples"

NOTIFY: dict[str, Any] = {
    "id": "notify", "name": "Notify", "category": "ops", "tags": ["alerts"],
    "steps": [{"id": "say", "action": "transform",
               "with": {"to": "{{ params.channel }}", "times": "{{ params.times }}",
               "line": "to {{ params.channel }} x{{ params.times }}"}}],
}
PARAMS = [{"name": "channel", "type": "string", "required": True, "description": "where"},
          {"name": "times", "type": "integer", "default": 1}]


def test_rendering_keeps_types_and_checks_values() -> None:
    params = [TemplateParameter.model_validate(p) for p in PARAMS]
    values, problems = check_values(params, {"channel": "#ops", "times": 3})
    assert problems == [] and placeholders(NOTIFY) == {"channel", "times"}
    assert render(NOTIFY, values)["steps"][0]["with"] == {"to": "#ops", "times": 3,
                                                          "line": "to #ops x3"}
    _, wrong = check_values(params, {"times": "3", "colour": "red"})
    assert sorted((p.path, p.code) for p in wrong) == [
        ("parameters.channel", "required"), ("parameters.colour", "unknown_parameter"),
        ("parameters.times", "invalid_type")]


async def _until(client: httpx.AsyncClient, path: str, done: Any, **params: Any) -> Any:
    body: Any = None
    for _ in range(300):
        response = await client.get(path, params=params)
        if response.status_code == 200 and done(body := response.json()):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path}: {body}")


@pytest.mark.kafka
async def test_save_search_instantiate_publish_and_run(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    api = create_api(kafka_bootstrap, hw_topics, templates_dir=EXAMPLES)
    bundled = len(list((EXAMPLES / "workflows").glob("*.yaml")))
    async with running_engine(kafka_bootstrap, hw_topics, tmp_path) as _, served(api) as url, \
            httpx.AsyncClient(base_url=url) as client:
        assert (await client.post("/definitions", json={**NOTIFY, "steps": [
            {"id": "say", "action": "log"}]})).status_code == 201
        await _until(client, "/workflows/notify", lambda b: b["active"])
        from_wf = await client.post("/templates", json={
            "template_id": "copy-of-notify", "name": "Copy", "from_workflow": {"workflow_id": "notify"}})
        saved = await client.post("/templates", json={
            "template_id": "notify-team", "name": "Notify a team", "category": "ops",
            "tags": ["alerts", "chat"], "parameters": PARAMS, "definition": NOTIFY})
        assert from_wf.status_code == saved.status_code == 202, saved.text
        undeclared = await client.post("/templates", json={
            "template_id": "bad", "name": "Bad", "definition": NOTIFY, "parameters": PARAMS[:1]})
        assert undeclared.status_code == 422
        assert undeclared.json()["errors"][0]["code"] == "undeclared_parameter"
        clash = await client.post("/templates", json={"template_id": "hello", "name": "Mine",
                                                      "definition": NOTIFY, "parameters": PARAMS})
        assert clash.status_code == 409

        everything = await _until(client, "/templates", lambda b: len(b["items"]) == bundled + 2,
                                  limit=200)
        ids = [t["template_id"] for t in everything["items"]]
        assert ids == sorted(ids) and {"hello", "notify-team", "copy-of-notify"} <= set(ids)
        paged: list[str] = []
        cursor = None
        while True:
            page = (await client.get("/templates", params={"limit": 4, **({"cursor": cursor} if cursor else {})})).json()
            paged += [t["template_id"] for t in page["items"]]
            if (cursor := page["next_cursor"]) is None:
                break
        assert paged == ids
        by_tag = (await client.get("/templates", params={"tag": "chat"})).json()["items"]
        by_words = (await client.get("/templates", params={"q": "notify TEAM"})).json()["items"]
        users = (await client.get("/templates", params={"source": "user", "category": "ops"})).json()["items"]
        assert [t["template_id"] for t in by_tag] == ["notify-team"] == [t["template_id"] for t in by_words]
        assert [t["template_id"] for t in users] == ["notify-team"]  # the copy has no category
        commerce = (await client.get("/templates", params={"category": "commerce"})).json()["items"]
        assert commerce and all(t["source"] == "bundled" for t in commerce)

        refused = await client.post("/templates/notify-team/instantiate", json={"parameters": {"times": "x"}})
        assert refused.status_code == 422
        assert {e["path"] for e in refused.json()["errors"]} == {"parameters.channel", "parameters.times"}
        made = (await client.post("/templates/notify-team/instantiate", json={
            "parameters": {"channel": "#ops", "times": 2}, "workflow_id": "notify-ops"})).json()
        assert made["definition"]["id"] == "notify-ops"
        assert (await client.post("/definitions", json=made["definition"])).status_code == 201
        await _until(client, "/workflows/notify-ops", lambda b: b["active"])
        started = (await client.post("/workflows/notify-ops/executions", json={})).json()
        run = await _until(client, f"/executions/{started['execution_id']}",
                           lambda b: b["summary"]["status"] == "completed")
        assert run["detail"]["steps"]["say"]["output"] == {"to": "#ops", "times": 2, "line": "to #ops x2"}

        monkeypatch.setenv("HEADWATER_API_URL", url)
        runner = CliRunner()
        listed = await asyncio.to_thread(runner.invoke, app, ["templates", "ls", "-t", "alerts", "--json"])
        assert listed.exit_code == 0 and [t["template_id"] for t in orjson.loads(listed.output)] == ["notify-team"]
        used = await asyncio.to_thread(runner.invoke, app, [
            "templates", "use", "notify-team", "-p", "channel=#cli", "--id", "notify-cli", "--deploy"])
        assert used.exit_code == 0 and "published" in used.output, used.output
        await _until(client, "/workflows/notify-cli", lambda b: b["active"])
        gone = await asyncio.to_thread(runner.invoke, app, ["templates", "rm", "copy-of-notify"])
        assert gone.exit_code == 0
        await _until(client, "/templates", lambda b: len(b["items"]) == bundled + 1, limit=200)
        assert (await client.delete("/templates/hello")).status_code == 409
