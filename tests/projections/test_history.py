"""History and comments of a definition, on the broker: who published each version and why,
status changes with their reason, comments on the workflow and on a version (a repeat with the
same Idempotency-Key is one comment), the diff between two versions; the engine reads past
the comment events and keeps running the workflow."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from projections import create_api
from projections.views.diff import diff_definitions
from tests.streams.kit import running_engine

V1: dict[str, Any] = {"id": "greet", "name": "Greet", "version": "1.0.0",
                      "steps": [{"id": "a", "action": "log", "with": {"message": "hi"}},
                                {"id": "b", "action": "transform", "with": {"x": 1}}]}
V2: dict[str, Any] = {**V1, "version": "2.0.0", "name": "Greet warmly",
                      "steps": [{"id": "a", "action": "log", "with": {"message": "hello"}},
                                {"id": "new", "action": "log"},
                                {"id": "b", "action": "transform", "with": {"x": 1}}]}


def test_steps_are_compared_by_id() -> None:
    changes = [(c.path, c.op, c.before, c.after) for c in diff_definitions(V1, V2)]
    assert changes == [("$.name", "changed", "Greet", "Greet warmly"),
                       ("$.version", "changed", "1.0.0", "2.0.0"),
                       ("$.steps[id=a].with.message", "changed", "hi", "hello"),
                       ("$.steps[id=new]", "added", None, {"id": "new", "action": "log"})]


def test_reorders_and_plain_lists() -> None:
    before = {"steps": [{"id": "a"}, {"id": "b"}], "tags": ["x", "y"]}
    after = {"steps": [{"id": "b"}, {"id": "a"}], "tags": ["x"]}
    assert [(c.path, c.op) for c in diff_definitions(before, after)] == [
        ("$.steps", "reordered"), ("$.tags[1]", "removed")]
    assert diff_definitions(V1, V1) == []


async def _until(client: httpx.AsyncClient, path: str, done: Any, **params: Any) -> Any:
    body: Any = None
    for _ in range(300):
        response = await client.get(path, params=params)
        if response.status_code == 200 and done(body := response.json()):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path}: {body}")


@pytest.mark.kafka
async def test_history_comments_and_diff(kafka_bootstrap: str, hw_topics: dict[str, str],
                                         tmp_path: Path) -> None:
    api = create_api(kafka_bootstrap, hw_topics)
    base = "/definitions/workflow/greet"
    async with running_engine(kafka_bootstrap, hw_topics, tmp_path) as _, \
            api.router.lifespan_context(api), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://api") as client:
        assert (await client.post("/definitions", json=V1, params={"reason": "first cut"})).status_code == 201
        await _until(client, base, lambda b: True)
        assert (await client.post("/definitions", json=V2, params={"reason": "warmer"})).status_code == 201
        await _until(client, base, lambda b: b["latest"] == "2.0.0")
        paused = await client.post(f"{base}/versions/1.0.0/status",
                                   json={"status": "paused", "reason": "superseded"})
        assert paused.status_code == 202
        for _ in range(2):  # a client's retry: one comment
            said = await client.post(f"{base}/comments", json={"text": "looks good", "version": "2.0.0"},
                                     headers={"Idempotency-Key": "c-1"})
            assert said.status_code == 202 and said.json()["author"] == "anonymous"
        assert (await client.post(f"{base}/comments", json={"text": "rename it?"})).status_code == 202
        assert (await client.post(f"{base}/comments", json={"text": "x", "version": "9"})).status_code == 404
        assert (await client.post(f"{base}/comments", json={"text": ""})).status_code == 422

        history = await _until(client, f"{base}/history", lambda b: len(b["items"]) == 5)
        got = [(e["event"], e["version"], e["by"], e["text"], e["status"]) for e in history["items"]]
        assert got == [("published", "1.0.0", "anonymous", "first cut", "active"),
                       ("published", "2.0.0", "anonymous", "warmer", "active"),
                       ("status_changed", "1.0.0", "anonymous", "superseded", "paused"),
                       ("commented", "2.0.0", "anonymous", "looks good", None),
                       ("commented", None, "anonymous", "rename it?", None)]
        page = (await client.get(f"{base}/history", params={"limit": 2})).json()
        rest = (await client.get(f"{base}/history", params={"cursor": page["next_cursor"]})).json()
        assert page["items"] + rest["items"] == history["items"]
        on_v2 = (await client.get(f"{base}/comments", params={"version": "2.0.0"})).json()
        assert [c["text"] for c in on_v2["items"]] == ["looks good"]
        versions = (await client.get(base)).json()["versions"]
        assert [(v["version"], v["published_by"], v["reason"]) for v in versions] == [
            ("1.0.0", "anonymous", "first cut"), ("2.0.0", "anonymous", "warmer")]

        diff = (await client.get(f"{base}/diff", params={"from": "1.0.0", "to": "2.0.0"})).json()
        assert ["$.steps[id=a].with.message", "changed"] in [[c["path"], c["op"]] for c in diff["changes"]]
        missing = await client.get(f"{base}/diff", params={"from": "1.0.0", "to": "3.0.0"})
        assert missing.status_code == 404 and missing.json()["errors"][0]["path"] == "query.to"

        # The engine read past the comments: the workflow still starts and completes.
        started = (await client.post("/workflows/greet/executions", json={})).json()
        done = await _until(client, f"/executions/{started['execution_id']}",
                            lambda b: b["summary"]["status"] in ("completed", "failed"))
        assert done["summary"]["status"] == "completed" and done["summary"]["workflow_version"] == "2.0.0"


@pytest.mark.kafka
async def test_the_cli_shows_history_diff_and_comments(
        kafka_bootstrap: str, hw_topics: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import orjson
    from typer.testing import CliRunner

    from headwater.cli import app
    from tests.projections.apikit import served

    api = create_api(kafka_bootstrap, hw_topics)
    runner = CliRunner()
    async with served(api) as url, httpx.AsyncClient(base_url=url) as client:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        for body, why in ((V1, "first cut"), (V2, "warmer")):
            assert (await client.post("/definitions", json=body, params={"reason": why})).status_code == 201
        await _until(client, "/definitions/workflow/greet", lambda b: b["latest"] == "2.0.0")
        said = await asyncio.to_thread(runner.invoke, app, ["workflows", "comment", "greet", "ship it",
                                                            "--version", "2.0.0"])
        assert said.exit_code == 0, said.output
        await _until(client, "/definitions/workflow/greet/history", lambda b: len(b["items"]) == 3)
        history = await asyncio.to_thread(runner.invoke, app, ["workflows", "history", "greet", "--json"])
        assert [(e["event"], e["text"]) for e in orjson.loads(history.output)] == [
            ("published", "first cut"), ("published", "warmer"), ("commented", "ship it")]
        diff = await asyncio.to_thread(runner.invoke, app, ["workflows", "diff", "greet", "1.0.0", "2.0.0"])
        assert diff.exit_code == 0 and "$.steps[id=new]" in diff.output and "'hi' → 'hello'" in diff.output
