"""Outcomes close the loop, on the broker: a rule starts a workflow that fails one time in four
and calls a webhook that answers 500 one time in ten; its stats and firings (API and CLI) show
exactly those counts, and `GET /rules/insights` reports the failing actions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from typer.testing import CliRunner

from headwater.cli import app
from projections import create_api
from schemas.definition_events import DefinitionPublished
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.triggers import TriggerEvent
from tests.projections.apikit import served
from tests.streams.kit import NOW, Client, running_engine
from tests.support import serving

pytestmark = pytest.mark.kafka
EVENTS = 20


@pytest.fixture
async def target() -> AsyncIterator[str]:
    """`/work` refuses every 4th order (422, not retried); `/hook` answers 500 to every 10th."""

    async def work(request: web.Request) -> web.Response:
        n = (await request.json())["n"]
        return web.json_response({"n": n}, status=422 if n % 4 == 0 else 200)

    async def hook(request: web.Request) -> web.Response:
        n = (await request.json())["n"]
        return web.json_response({"n": n}, status=500 if n % 10 == 0 else 200)

    server = web.Application()
    server.router.add_post("/work", work)
    server.router.add_post("/hook", hook)
    async with serving(server) as base_url:
        yield base_url


def definitions(base_url: str) -> tuple[WorkflowDefinition, RuleDefinition]:
    workflow = WorkflowDefinition.model_validate({
        "id": "fulfil", "name": "Fulfil",
        "steps": [{"id": "call", "action": "http",
                   "with": {"url": f"{base_url}/work", "body": {"n": "${ input.n }"}}}],
    })
    rule = RuleDefinition.model_validate({
        "id": "on-order", "name": "On order", "trigger": {"event_type": "order.created"},
        "conditions": {"$gt": {"data.n": 0}},
        "actions": [
            {"type": "start_workflow", "workflow_id": "fulfil", "input": {"n": "${ event.data.n }"}},
            {"type": "call_webhook", "url": f"{base_url}/hook", "body": {"n": "${ event.data.n }"}},
        ],
    })
    return workflow, rule


async def _settled(client: httpx.AsyncClient) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for _ in range(1200):  # the failing webhooks are retried 5 times with backoff (~20 s)
        response = await client.get("/rules/on-order/stats")
        if response.status_code == 200:
            stats = response.json()
            if stats["firings"]["fired"] == EVENTS and stats["actions"]["pending"] == 0:
                return stats
        await asyncio.sleep(0.1)
    raise AssertionError(f"the firings never settled: {stats}")


async def _insights_name_the_failing_actions(client: httpx.AsyncClient, failed: set[int],
                                             failing_workflow: set[int],
                                             failing_hook: set[int]) -> None:
    """`GET /rules/insights` (and the rule's own insights) report the failing actions: the rule,
    how many activations failed, and the two action kinds with their counts."""
    listed = (await client.get("/rules/insights", params={"kind": "failing_actions"})).json()
    assert [f["rules"] for f in listed["items"]] == [["on-order"]]
    finding = listed["items"][0]
    assert finding["key"] == "failing_actions:on-order"
    assert finding["evidence"]["failed"] == len(failed)
    assert finding["evidence"]["activations"] == EVENTS
    assert finding["evidence"]["rate"] == round(len(failed) / EVENTS, 4)
    assert finding["evidence"]["most_common"] == [
        {"code": "action_failed:start_workflow", "count": len(failing_workflow)},
        {"code": "action_failed:call_webhook", "count": len(failing_hook)}]
    assert f"{len(failed)} of {EVENTS}" in finding["suggestion"]
    everything = (await client.get("/rules/insights")).json()
    assert finding in everything["items"]
    own = (await client.get("/rules/on-order/insights")).json()
    assert [f["key"] for f in own["items"] if f["kind"] == "failing_actions"] == [finding["key"]]


async def test_stats_and_firings_show_how_each_action_ended(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path, target: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    workflow, rule = definitions(target)
    api = create_api(kafka_bootstrap, hw_topics)
    async with running_engine(kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",)
                              ) as engine, Client(kafka_bootstrap, hw_topics) as producer, \
            served(api) as url, httpx.AsyncClient(base_url=url) as client:
        await producer.publish(workflow)
        published = DefinitionPublished(kind="rule", definition_id=rule.id, version=rule.version,
                                        definition=rule.model_dump(mode="json", by_alias=True),
                                        published_at=NOW)
        await producer.send("definitions", published.key, published)
        agent = engine.trigger_agent
        assert agent is not None
        for _ in range(100):
            if agent.book.rules.rule("on-order") is not None:
                break
            await asyncio.sleep(0.1)
        for n in range(1, EVENTS + 1):
            await producer.send("triggers", f"c-{n}", TriggerEvent(
                id=f"o-{n}", source="shop", type="order.created", subject=f"c-{n}", time=NOW,
                data={"n": n}))
        stats = await _settled(client)

        failing_workflow = {n for n in range(1, EVENTS + 1) if n % 4 == 0}  # 5
        failing_hook = {n for n in range(1, EVENTS + 1) if n % 10 == 0}  # 2
        failed = failing_workflow | failing_hook  # 6: 20 fails both
        assert stats["firings"] == {"fired": EVENTS, "succeeded": EVENTS - len(failed),
                                    "failed": len(failed), "pending": 0}
        assert stats["actions"] == {
            "succeeded": 2 * EVENTS - len(failing_workflow) - len(failing_hook),
            "failed": len(failing_workflow) + len(failing_hook), "pending": 0,
            "success_rate": (2 * EVENTS - 7) / (2 * EVENTS)}
        assert stats["errors"] == {"action_failed:start_workflow": len(failing_workflow),
                                   "action_failed:call_webhook": len(failing_hook)}
        assert stats["action_ms"]["count"] == 2 * EVENTS
        assert stats["action_ms"]["p99"] >= stats["action_ms"]["p50"] > 0

        pages: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"result": "failed", "limit": 4}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/rules/on-order/firings", params=params)).json()
            pages.append(page)
            if (cursor := page["next_cursor"]) is None:
                break
        listed = [f for p in pages for f in p["items"]]
        assert len(pages) == 2
        assert {int(f["event_id"].removeprefix("o-")) for f in listed} == failed
        for firing in listed:
            n = int(firing["event_id"].removeprefix("o-"))
            start, call = firing["actions"]
            assert firing["conditions"]["result"] is True
            assert start["status"] == ("failed" if n in failing_workflow else "succeeded")
            assert call["status"] == ("failed" if n in failing_hook else "succeeded")
            assert call["http_status"] == (500 if n in failing_hook else 200)
            if n in failing_workflow:
                assert start["code"] == "http_422"
        everything = (await client.get("/rules/on-order/firings",
                                       params={"limit": 500})).json()
        assert len(everything["items"]) == EVENTS and everything["next_cursor"] is None
        assert (await client.get("/rules/on-order/firings",
                                 params={"cursor": "not-a-cursor"})).status_code == 422
        assert (await client.get("/rules/nope/firings")).status_code == 404

        await _insights_name_the_failing_actions(client, failed, failing_workflow, failing_hook)

        monkeypatch.setenv("HEADWATER_API_URL", url)
        shown = await asyncio.to_thread(CliRunner().invoke, app, [
            "rules", "firings", "on-order", "--result", "failed", "--json"])
        assert shown.exit_code == 0, shown.output
        assert "o-20" in shown.output and "http_500" in shown.output
