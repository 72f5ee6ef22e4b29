"""``POST /rules/test``: a rule, inline or published, tried on a sample event, no side effects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import BaseModel

from projections import create_api
from projections.store import MemoryStore
from projections.views import fold
from schemas.definition_events import DefinitionPublished
from tests.projections.histories import T0, matched, status_changed

EXAMPLES = Path(__file__).parents[2] / "examples" / "rules"


def body_of(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text()))


def event_of(name: str) -> dict[str, Any]:
    return dict(json.loads((EXAMPLES.parent / "events" / f"{name}.json").read_text()))


def publish(body: dict[str, Any], version: str = "1.0.0") -> DefinitionPublished:
    body = {**body, "version": version}
    return DefinitionPublished(kind="rule", definition_id=body["id"], version=version,
                               definition=body, status="active", published_at=T0,
                               checksum=f"sum-{body['id']}-{version}")


def _events() -> list[BaseModel]:
    limited = {**body_of("vip-order"), "id": "limited", "max_executions": 2}
    support = body_of("priority-support")
    rival = {**support, "id": "enterprise-first", "priority": 90,
             "conditions": {"$lt": {"data.age_minutes": 60}}}
    return [publish(body_of("big-order")),
            publish({**body_of("big-order"), "conditions": {"data.customer.tier": "gold"}},
                    "2.0.0"),
            status_changed("rule", "big-order-review", "paused", "2.0.0"),
            publish(limited), matched("limited", "m1"), matched("limited", "m2"),
            publish(support), publish(rival)]


@pytest.fixture
def client() -> Iterator[TestClient]:
    store = MemoryStore()
    store.write(fold(store, _events()))
    api = create_api("127.0.0.1:1", {"definitions": "hw.definitions"}, store=store,
                     project=False, clock=lambda: T0)
    with TestClient(api) as client:
        yield client


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_every_example_rule_inline_with_its_sample_event(client: TestClient, name: str) -> None:
    response = client.post("/rules/test", json={"rule": body_of(name), "event": event_of(name)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"matched", "trigger_matched", "conditions", "actions", "held_by"}
    assert body["matched"] is (name != "hourly-heartbeat")
    assert [a["error"] for a in body["actions"]] == [None] * len(body_of(name)["actions"])
    if body["conditions"] is not None:
        assert set(body["conditions"]) == {"op", "path", "expected", "actual", "result",
                                           "children"}


def test_the_condition_tree_and_rendered_actions_as_json(client: TestClient) -> None:
    event = event_of("big-order")
    event["data"]["total"] = 10
    body = client.post("/rules/test", json={"rule": body_of("big-order"),
                                            "event": event}).json()
    assert body["matched"] is False and body["trigger_matched"] is True
    assert body["conditions"]["op"] == "$and" and body["conditions"]["result"] is False
    assert [(c["op"], c["path"], c["expected"], c["actual"], c["result"])
            for c in body["conditions"]["children"]] == [
        ("$gt", "data.total", 5000, 10, False),
        ("$eq", "data.customer.tier", "standard", "standard", True)]
    assert body["actions"] == [{"index": 0, "type": "start_workflow", "error": None, "rendered": {
        "workflow_id": "expense-approval", "version": "^1",
        "input": {"id": "order-77", "amount": 10, "manager": "sales-lead"}}}]
    assert body["held_by"] is None


def test_by_id_uses_the_newest_active_version_or_the_one_asked_for(client: TestClient) -> None:
    event = event_of("big-order")
    newest_active = client.post("/rules/test", json={"rule_id": "big-order-review",
                                                     "event": event}).json()
    assert newest_active["matched"] is True and newest_active["held_by"] is None
    paused = client.post("/rules/test", json={"rule_id": "big-order-review", "version": "2.0.0",
                                              "event": {**event, "data": {
                                                  **event["data"], "customer": {"tier": "gold"}}}})
    assert paused.json()["matched"] is True
    assert paused.json()["held_by"]["limit"] == "status"


def test_by_id_reads_the_limit_state_the_views_know(client: TestClient) -> None:
    body = client.post("/rules/test", json={"rule_id": "limited",
                                            "event": event_of("vip-order")}).json()
    assert body["matched"] is True
    assert body["held_by"] == {"limit": "max_executions", "detail": "2 reached"}


def test_by_id_sees_the_rest_of_the_exclusive_group(client: TestClient) -> None:
    body = client.post("/rules/test", json={"rule_id": "priority-support",
                                            "event": event_of("priority-support")}).json()
    assert body["matched"] is True
    assert body["held_by"]["limit"] == "exclusive_group"
    assert "enterprise-first" in body["held_by"]["detail"]


def test_nothing_is_written(client: TestClient) -> None:
    before = client.get("/rules/limited/stats").json()
    for _ in range(3):
        client.post("/rules/test", json={"rule_id": "limited", "event": event_of("vip-order")})
    assert client.get("/rules/limited/stats").json() == before


@pytest.mark.parametrize(("request_body", "status", "path"), [
    ({"rule": {"id": "x", "name": "x", "actions": []}, "event": {"id": "1", "source": "s",
                                                                  "type": "t"}}, 422, "$.actions"),
    ({"rule": {"id": "x", "name": "x", "conditions": {"$bogus": 1},
               "actions": [{"type": "start_workflow", "workflow_id": "w"}]},
      "event": {"id": "1", "source": "s", "type": "t"}}, 422, "$.conditions[\"$bogus\"]"),
    ({"rule": body_of("big-order"), "event": {"id": "1", "type": "t"}}, 422, "event.source"),
    ({"event": {"id": "1", "source": "s", "type": "t"}}, 422, "rule"),
    ({"rule_id": "nope", "event": {"id": "1", "source": "s", "type": "t"}}, 404, None),
    ({"rule_id": "limited", "version": "9.9.9",
      "event": {"id": "1", "source": "s", "type": "t"}}, 404, None),
])
def test_errors_name_the_field(client: TestClient, request_body: dict[str, Any], status: int,
                               path: str | None) -> None:
    response = client.post("/rules/test", json=request_body)
    assert response.status_code == status, response.text
    if path is not None:
        assert path in [e["path"] for e in response.json()["errors"]], response.text


def test_an_invalid_inline_rule_gets_the_problems_publishing_gives(client: TestClient) -> None:
    rule = {"id": "x", "name": "x", "priority": "high",
            "actions": [{"type": "start_workflow"}]}
    tested = client.post("/rules/test", json={"rule": rule, "event": event_of("vip-order")})
    published = client.post("/definitions", json={"kind": "rule", **rule})
    assert tested.status_code == published.status_code == 422
    assert tested.json()["errors"] == published.json()["errors"]
