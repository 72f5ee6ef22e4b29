"""A rule's `call_webhook` may reference `{{ secrets.NAME }}` in its headers and body: the
worker puts the value in where the rule writes it, and nowhere else; no record carries it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from schemas.definition_events import DefinitionPublished
from schemas.definitions import RuleDefinition
from schemas.tasks import TaskRequested
from schemas.triggers import TriggerEvent
from schemas.validation import validate_rule
from streams.runtime.registry import DefinitionRegistry
from streams.triggers.effects import WEBHOOK_WORKFLOW, digest
from streams.workers import secrets as worker_secrets
from streams.workers.secrets import SecretStore, StepTemplates
from tests.streams.kit import NOW, Client, eventually, finished, read_until, running_engine
from tests.support import records_to_end, serving

TOKEN = "wh-s3cr3t-value"


def rule(base_url: str) -> RuleDefinition:
    return RuleDefinition.model_validate({
        "id": "notify-crm", "name": "Notify the CRM", "trigger": {"event_type": "order.created"},
        "actions": [{"type": "call_webhook", "url": f"{base_url}/hook",
                     "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }}"},
                     # from event data: a reference arriving there stays text
                     "body": {"note": "${ event.data.note }", "sig": "{{ secrets.CRM_TOKEN }}"}}],
    })


def test_the_worker_and_the_trigger_agent_name_the_same_webhook_workflow() -> None:
    assert worker_secrets.WEBHOOK_WORKFLOW == WEBHOOK_WORKFLOW


def test_validation_allows_headers_and_body_and_refuses_the_url_and_other_actions() -> None:
    ok = validate_rule(rule("https://crm.example").model_dump(mode="json", by_alias=True))
    assert ok.errors == []
    report = validate_rule({"id": "r", "name": "R", "trigger": {"event_type": "a"}, "actions": [
        {"type": "call_webhook", "url": "https://crm.example/h?k={{ secrets.K }}"},
        {"type": "publish_event", "event_type": "b", "data": {"k": "{{ secrets.K }}"}}]})
    assert report.codes() == [("$.actions[0].url", "secret_not_resolved_here"),
                              ("$.actions[1].data.k", "secret_not_resolved_here")]


def _task(execution_id: str, workflow_id: str = WEBHOOK_WORKFLOW) -> TaskRequested:
    return TaskRequested(execution_id=execution_id, seq=1, task_id="t", step_id="call",
                         task_type="http", params={}, idempotency_key="k",
                         requested_at=datetime.now(UTC), workflow_id=workflow_id,
                         workflow_version="1.0.0")


def test_references_come_only_from_the_rule_whose_derived_id_started_the_call() -> None:
    registry = DefinitionRegistry()
    definition = rule("https://crm.example")
    registry.apply(DefinitionPublished(kind="rule", definition_id=definition.id, version="1.0.0",
                                       definition=definition.model_dump(mode="json", by_alias=True),
                                       published_at=NOW))
    templates = StepTemplates(lambda wid, version: None, registry.rule)
    tag = digest("shop", "1")
    assert templates.references(_task(f"notify-crm:{tag}:0")) == {
        ("headers", "Authorization"): frozenset({"CRM_TOKEN"}),
        ("body", "sig"): frozenset({"CRM_TOKEN"})}
    # An API start of the built-in workflow has an id of another form: nothing is resolved.
    assert templates.references(_task("headwater.webhook-0123456789abcdef0123")) == {}
    assert templates.references(_task(f"notify-crm:{tag}:1")) == {}  # no such action
    assert templates.references(_task(f"unknown:{tag}:0")) == {}


@pytest.fixture
async def hook() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        seen.append({"auth": request.headers.get("Authorization"), "body": await request.json()})
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorised"}, status=401)
        return web.json_response({"echo": seen[-1]})  # echoes the secret back

    app = web.Application()
    app.router.add_post("/hook", receive)
    async with serving(app) as base_url:
        yield base_url, seen


@pytest.mark.kafka
async def test_the_webhook_gets_the_secret_and_no_topic_carries_it(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
    hook: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, seen = hook
    definition = rule(base_url)
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",),
        secrets=SecretStore({"CRM_TOKEN": TOKEN}),
    ) as engine:
        published = DefinitionPublished(kind="rule", definition_id=definition.id,
                                        version=definition.version, published_at=NOW,
                                        definition=definition.model_dump(mode="json", by_alias=True))
        await client.send("definitions", published.key, published)
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: agent.book.rules.rule("notify-crm") is not None, 10.0)
        event = TriggerEvent(id="1", source="shop", type="order.created", subject="c-1", time=NOW,
                             data={"note": "{{ secrets.CRM_TOKEN }}"})
        await client.send("triggers", "c-1", event)
        execution_id = f"notify-crm:{digest('shop', '1')}:0"
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  finished({execution_id}))
    done = [e for e in events if e.execution_id == execution_id][-1]
    assert done.type == "execution_completed"
    assert seen == [{"auth": f"Bearer {TOKEN}",
                     "body": {"note": "{{ secrets.CRM_TOKEN }}", "sig": TOKEN}}]
    assert TOKEN not in repr(done.output)
    for role in ("executions", "tasks", "commands", "triggers", "rule-outcomes", "dead-letters",
                 "definitions"):
        assert not [r for r in await records_to_end(kafka_bootstrap, hw_topics[role])
                    if TOKEN.encode() in (r.key or b"") + (r.value or b"")], role
