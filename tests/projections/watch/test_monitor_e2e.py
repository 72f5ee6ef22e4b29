"""The alert monitor on the broker: a workflow failing over its rate, a rule whose actions
fail and dead letters growing each raise one alert on ``hw.alerts``, which the engine's sender
delivers to a signed webhook; once their windows are clean, each resolves. Projection lag is
judged from the projector's measurement (planted here through it), raised and resolved."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from projections import create_api
from projections.producer import EventProducer
from projections.store import MemoryStore
from projections.watch import Monitor, parse_conditions
from projections.webhooks import WebhookVerifier
from schemas.definition_events import DefinitionPublished
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.triggers import TriggerEvent
from streams.workers.alert_sender import parse_channels
from tests.projections.apikit import served
from tests.streams.kit import NOW, Client, read_until, running_engine
from tests.support import serving

pytestmark = pytest.mark.kafka
SECRET = "monitor-signing-secret"
WINDOW_S = 10


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """`/work` answers 422 (not retried) when the body says ok: false; `/hook` takes alerts."""
    hooks: list[dict[str, Any]] = []
    verifier = WebhookVerifier.from_text(orjson.dumps({"alerts": [SECRET]}).decode())

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        verifier.verify("alerts", request.headers.get("X-Headwater-Timestamp"),
                        request.headers.get("X-Headwater-Signature"), body, time.time())
        hooks.append(orjson.loads(body))
        return web.json_response({})

    async def work(request: web.Request) -> web.Response:
        return web.json_response({}, status=200 if (await request.json())["ok"] else 422)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/work", work)
    async with serving(app) as base_url:
        yield base_url, hooks


def definitions(base_url: str) -> tuple[WorkflowDefinition, DefinitionPublished]:
    workflow = WorkflowDefinition.model_validate({
        "id": "flaky", "name": "Flaky",
        "steps": [{"id": "run", "action": "http",
                   "with": {"url": f"{base_url}/work", "body": {"ok": "${ input.ok }"}}}]})
    rule = RuleDefinition.model_validate({
        "id": "on-job", "name": "On job", "trigger": {"event_type": "job.due"},
        "actions": [{"type": "start_workflow", "workflow_id": "flaky",
                     "input": {"ok": "${ event.data.ok }"}}]})
    published = DefinitionPublished(kind="rule", definition_id=rule.id, version=rule.version,
                                    definition=rule.model_dump(mode="json", by_alias=True),
                                    published_at=NOW)
    return workflow, published


CONDITIONS = parse_conditions(orjson.dumps([
    {"kind": "workflow_failure_rate", "max_rate": 0.5, "window_s": WINDOW_S,
     "min_executions": 4, "channels": ["ops"]},
    {"kind": "rule_actions_failing", "max_rate": 0.5, "window_s": WINDOW_S, "min_actions": 4,
     "channels": ["ops"]},
    {"kind": "dead_letters", "max_new": 0, "window_s": WINDOW_S, "channels": ["ops"]},
]).decode(), channels=["ops"])


async def _until(check: Any, timeout_s: float, what: Any) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what()
        await asyncio.sleep(0.1)


async def test_failure_rate_failing_actions_and_dead_letters_raise_and_resolve(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
        receiver: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, hooks = receiver
    channels = parse_channels(orjson.dumps({"ops": {
        "kind": "webhook", "url": f"{base_url}/hook", "secret": SECRET}}).decode())
    workflow, rule = definitions(base_url)
    api = create_api(kafka_bootstrap, hw_topics, alert_conditions=CONDITIONS, alert_check_s=0.3)

    def seen(kind: str) -> dict[str, str]:
        return {h["key"]: h["condition"] for h in hooks if h["type"] == kind}

    async with running_engine(kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",),
                              alert_channels=channels, alert_backoff_s=0.05) as engine, \
            Client(kafka_bootstrap, hw_topics) as client, served(api):
        await client.publish(workflow)
        await client.send("definitions", rule.key, rule)
        agent = engine.trigger_agent
        assert agent is not None
        await _until(lambda: agent.book.rules.rule("on-job") is not None, 10, lambda: "rule not loaded")
        monitor = api.state.monitor
        # Its first caught-up look is every window's baseline: what came before is history
        await _until(lambda: monitor.watcher is not None and monitor.watcher.watching, 60,
                     lambda: "monitor not watching")
        for n in range(4):
            await client.send("triggers", f"j-{n}", TriggerEvent(
                id=f"j-{n}", source="cron", type="job.due", subject=f"j-{n}", time=NOW,
                data={"ok": False}))
        await client.send_raw("triggers", b"x", b"not an event")  # -> one dead letter
        raised = {"failure-rate:flaky": "workflow_failure_rate",
                  "rule-actions:on-job": "rule_actions_failing",
                  "dead-letters": "dead_letters"}
        await _until(lambda: seen("alert_raised") == raised, 60, lambda: f"raised: {hooks}")
        await _until(lambda: seen("alert_resolved") == raised, 3 * WINDOW_S + 30,
                     lambda: f"resolved: {hooks}")
        await asyncio.sleep(1.0)  # nothing more may come
    assert len(hooks) == 6, hooks
    by_key = {(h["key"], h["type"]): h for h in hooks}
    rate = by_key["failure-rate:flaky", "alert_raised"]
    assert rate["workflow_id"] == "flaky" and rate["value"] == 1.0 and rate["threshold"] == 0.5
    assert "4 of 4 executions failed" in rate["summary"]
    actions = by_key["rule-actions:on-job", "alert_raised"]
    assert actions["rule_id"] == "on-job" and "4 of 4 actions failed" in actions["summary"]
    assert by_key["dead-letters", "alert_raised"]["value"] == 1
    assert by_key["dead-letters", "alert_resolved"]["value"] == 0
    records = await read_until(kafka_bootstrap, hw_topics["alerts"], client.codec,
                               lambda rs: len(rs) >= 6)
    assert sorted((r.key, r.type) for r in records) == sorted(by_key)


async def test_projection_lag_over_its_bound_raises_then_resolves_and_a_restart_remembers(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    lag = {"records": 0}

    async def measured() -> int:
        return lag["records"]

    async def caught_up() -> None:
        return None

    conditions = parse_conditions('[{"kind": "projection_lag", "max_records": 100, "for_s": 0,'
                                  ' "channels": ["ops"]}]')
    producer = EventProducer(kafka_bootstrap, hw_topics)

    async def ready() -> Monitor:
        monitor = Monitor(MemoryStore(), producer, conditions, lag=measured,
                          caught_up=caught_up, clock=lambda: NOW, bootstrap=kafka_bootstrap,
                          topics=hw_topics)
        await monitor.prepare()
        return monitor

    try:
        first = await ready()
        assert await first.look() == []
        lag["records"] = 500
        [raised] = await first.look()
        assert (raised.type, raised.key, raised.value) == ("alert_raised", "projection-lag", 500)
        assert await first.look() == []  # still over: the same incident
        # A monitor started now finds the incident open on the topic, and does not repeat it.
        second = await ready()
        assert second.watcher is not None and second.watcher.open_keys == {"projection-lag"}
        assert await second.look() == []
        lag["records"] = 3
        [resolved] = await second.look()
        assert (resolved.type, resolved.value) == ("alert_resolved", 3)
        third = await ready()
        assert third.watcher is not None and third.watcher.open_keys == set()
    finally:
        await producer.stop()
