"""``GET /rules/insights`` over the views: the findings, pages, filters, one rule's findings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from projections import create_api
from projections.store import MemoryStore
from projections.views import fold
from schemas.definition_events import DefinitionPublished
from schemas.outcomes import ActionResult, RuleMatched
from schemas.validation import validate_definition
from tests.projections.histories import T0

NOW = T0 + timedelta(days=10)


def rule(rule_id: str, conditions: dict[str, Any], **fields: Any) -> DefinitionPublished:
    body = {"id": rule_id, "name": rule_id, "version": "1.0.0",
            "trigger": {"event_type": fields.pop("event_type", "order.placed")},
            "conditions": conditions,
            "actions": [{"type": "call_webhook", "url": "https://hooks.example/x"}], **fields}
    return DefinitionPublished(kind="rule", definition_id=rule_id, version="1.0.0",
                               definition=body, status="active", published_at=T0,
                               checksum=f"sum-{rule_id}")


def fired(rule_id: str, i: int, ok: bool, event_type: str = "order.placed") -> RuleMatched:
    action = ActionResult(index=0, action_type="call_webhook",
                          status="succeeded" if ok else "failed",
                          error=None if ok else "HTTP 500")
    return RuleMatched(rule_id=rule_id, rule_version="1.0.0", event_id=f"{rule_id}-{i}",
                       event_type=event_type, evaluated_at=NOW - timedelta(hours=1),
                       evaluation_us=80, actions=(action,))


def _events() -> list[BaseModel]:
    events: list[BaseModel] = [
        rule("any-big", {"$gt": {"data.total": 100}}, exclusive_group="route", priority=10),
        rule("fr-huge", {"$and": [{"data.country": "FR"}, {"$gt": {"data.total": 1000}}]},
             exclusive_group="route"),
        rule("flaky", {"data.country": "DE"}),
        rule("silent", {"data.country": "XX"}),
        rule("slow", {"$mt": {"data.country": "JP"}}),
    ]
    # flaky fires 200 times, one in ten fails: its webhook answers 500.
    events += [fired("flaky", i, ok=i % 10 != 0) for i in range(200)]
    events += [fired(r, i, ok=True) for r in ("any-big", "slow") for i in range(3)]
    return events


@pytest.fixture
def client() -> Iterator[TestClient]:
    store = MemoryStore()
    store.write(fold(store, _events()))
    api = create_api("127.0.0.1:1", {"definitions": "hw.definitions"}, store=store,
                     project=False, clock=lambda: NOW)
    with TestClient(api) as client:
        yield client


def test_the_findings_of_the_active_rulebook(client: TestClient) -> None:
    body = client.get("/rules/insights").json()
    got = [(f["kind"], f["rules"]) for f in body["items"]]
    assert got == [("shadowed", ["fr-huge", "any-big"]), ("never_matched", ["silent"]),
                   ("failing_actions", ["flaky"]), ("residual", ["slow"])]
    assert body["next_cursor"] is None
    by_kind = {f["kind"]: f for f in body["items"]}
    failing = by_kind["failing_actions"]["evidence"]
    assert (failing["failed"], failing["activations"]) == (20, 200)
    assert failing["most_common"] == [{"code": "action_failed:call_webhook", "count": 20}]
    assert failing["last_error"] == "HTTP 500"
    assert by_kind["never_matched"]["evidence"]["events_of_type"] == 200
    residual = by_kind["residual"]
    assert residual["evidence"]["cost_us_per_event"] > 0
    assert residual["drafts"][0]["conditions"] == {"data.country": "JP"}
    for finding in body["items"]:
        for draft in finding["drafts"]:
            assert validate_definition(draft).definition is not None


def test_pages_and_filters(client: TestClient) -> None:
    first = client.get("/rules/insights", params={"limit": 3}).json()
    rest = client.get("/rules/insights", params={"limit": 3,
                                                 "cursor": first["next_cursor"]}).json()
    assert [f["kind"] for f in first["items"] + rest["items"]] == [
        "shadowed", "never_matched", "failing_actions", "residual"]
    assert rest["next_cursor"] is None
    only = client.get("/rules/insights", params={"kind": "residual"}).json()
    assert [f["rules"] for f in only["items"]] == [["slow"]]
    bad = client.get("/rules/insights", params={"kind": "nonsense", "cursor": "x"})
    assert bad.status_code == 422
    assert [e["path"] for e in bad.json()["errors"]] == ["query.kind", "query.cursor"]


def test_one_rules_findings(client: TestClient) -> None:
    assert [f["kind"] for f in client.get("/rules/any-big/insights").json()["items"]] == [
        "shadowed"]
    assert client.get("/rules/gold/insights").status_code == 404
    assert client.get("/rules/flaky/insights").json()["items"][0]["kind"] == "failing_actions"
