"""The designer's endpoints: validate, check an expression, test-run, list action types.

None of them writes anything: each test ends by publishing one marker definition and reading
the definitions topic, whose first record must be that marker.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from schemas.definition_events import DefinitionPublished
from schemas.executions import TaskRequested
from tests.projections.apikit import client_of, make_api, owned, read_records
from tests.projections.histories import T0, Execution

pytestmark = pytest.mark.kafka

MARKER = {"id": "marker", "name": "Marker", "steps": [{"id": "a", "action": "log"}]}

FLOW: dict[str, Any] = {
    "id": "orders", "name": "Orders", "version": "1.2.0",
    "steps": [
        {"id": "fetch", "action": "http", "with": {"url": "https://shop.example/${ input.id }"}},
        {"id": "big", "type": "condition", "default": "small",
         "branches": [{"when": "steps.fetch.output.total > 100", "next": "approve"}]},
        {"id": "approve", "type": "wait", "signal": "approved", "timeout": "1d", "next": "$end"},
        {"id": "small", "action": "transform", "with": {"total": "${ steps.fetch.output.total }"}},
    ],
    "outputs": {"total": "${ steps.fetch.output.total }"},
}


def _published(definition: dict[str, Any], status: str = "active") -> DefinitionPublished:
    return DefinitionPublished(kind="workflow", definition_id=definition["id"],
                               version=definition.get("version", "1.0.0"), definition=definition,
                               status=status, published_at=T0, checksum=f"sum-{status}")  # type: ignore[arg-type]


def _views() -> list[BaseModel]:
    task = Execution("x1", workflow_id="orders").started().add(
        TaskRequested, step_id="s", task_id="x1:t2", attempt=1, task_type="crm.sync")
    return [_published(FLOW), _published({**FLOW, "version": "2.0.0-draft", "outputs": None, "steps": [
        {"id": "only", "action": "billing.charge"}]}, status="draft"),
        owned("workflow", "secret", "alice", visibility="private"), *task.events]


async def _nothing_else_written(client: Any, bootstrap: str, topics: dict[str, str],
                                prefix: str) -> None:
    assert (await client.post("/definitions", json=MARKER)).status_code == 201
    [first] = await read_records(bootstrap, topics["definitions"], 1, prefix)
    assert isinstance(first, DefinitionPublished) and first.definition_id == "marker"


async def test_validate_gives_what_publishing_gives_and_writes_nothing(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    broken = {**FLOW, "id": "broken", "steps": [
        {"id": "a", "action": "log", "next": "nowhere"},
        {"id": "b", "type": "condition", "branches": [{"when": "input.x >", "next": "a"}]}]}
    trailing = {**FLOW, "id": "trailing", "outputs": None, "steps": [
        {"id": "a", "action": "log", "next": "c"}, {"id": "b", "action": "log", "next": "$end"},
        {"id": "c", "type": "condition", "branches": [{"when": "input.x == 1", "next": "b"}]}]}
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        ok = (await client.post("/definitions/validate", json=FLOW)).json()
        bad = (await client.post("/definitions/validate", json=broken)).json()
        refused = (await client.post("/definitions", json=broken)).json()
        warned = (await client.post("/definitions/validate", json=trailing)).json()
        shapeless = (await client.post("/definitions/validate", json={"kind": "gizmo"})).json()
        rule = (await client.post("/definitions/validate", json={
            "kind": "rule", "id": "r", "name": "R", "trigger": {"type": "order.*"},
            "actions": [{"type": "nope"}]})).json()
        await _nothing_else_written(client, kafka_bootstrap, hw_topics, topic_prefix)
    assert ok == {"valid": True, "problems": [], "warnings": []}
    assert bad["valid"] is False
    assert bad["problems"] == refused["errors"]  # the same validator, the same paths
    assert {(p["path"], p["code"]) for p in bad["problems"]} >= {
        ("$.steps[0].next", "unknown_step"), ("$.steps[1].branches[0].when", "invalid_expression")}
    assert warned["valid"] is True
    assert [(w["path"], w["code"]) for w in warned["warnings"]] == [
        ("$.steps[2].default", "ends_silently")]
    assert shapeless["valid"] is False and shapeless["problems"][0]["path"] == "$.kind"
    assert rule["valid"] is False and rule["problems"]


async def test_expressions_are_checked_one_at_a_time(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, [])
    async with client_of(api) as client:
        good = (await client.post("/expressions/check", json={"source": "input.a > steps.b.output"})).json()
        bad = (await client.post("/expressions/check", json={"source": "input.a >"})).json()
        mapping = (await client.post("/expressions/check", json={
            "source": "Dear ${ input.name }, ${ size(vars.items) } items", "kind": "mapping"})).json()
        bad_mapping = (await client.post("/expressions/check", json={
            "source": "${ nope( }", "kind": "mapping"})).json()
    assert good == {"valid": True, "problems": [], "reads": ["input", "steps"]}
    assert bad["valid"] is False and bad["problems"][0]["code"] == "invalid_expression"
    assert mapping["valid"] is True and mapping["reads"] == ["input", "vars"]
    assert bad_mapping["valid"] is False


async def test_a_test_run_of_an_inline_definition_follows_the_mocks(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        big = (await client.post("/workflows/test", json={
            "definition": FLOW, "input": {"id": "o-1"},
            "mocks": {"fetch": {"output": {"total": 250}}},
            "signals": {"approved": {"by": "ann"}}})).json()
        small = (await client.post("/workflows/test", json={
            "definition": FLOW, "input": {"id": "o-2"},
            "mocks": {"fetch": {"output": {"total": 5}}}})).json()
        down = (await client.post("/workflows/test", json={
            "definition": FLOW, "input": {"id": "o-3"},
            "mocks": {"fetch": {"error": {"code": "unavailable",
                                                              "retryable": False}}}})).json()
        invalid = await client.post("/workflows/test", json={
            "definition": {**FLOW, "steps": [{"id": "a", "action": "log", "next": "zz"}]}})
        both = await client.post("/workflows/test", json={"definition": FLOW, "workflow_id": "x"})
        await _nothing_else_written(client, kafka_bootstrap, hw_topics, topic_prefix)
    assert big["status"] == "completed" and big["stopped"] is None
    assert big["path"] == ["fetch", "big", "approve"]
    assert big["steps"]["fetch"]["params"] == {"url": "https://shop.example/o-1"}
    assert big["steps"]["fetch"]["mocked"] is True
    assert big["steps"]["approve"]["output"] == {"by": "ann"}
    assert big["output"] == {"total": 250}
    assert big["events"][0]["type"] == "execution_started"
    assert big["events"][-1]["type"] == "execution_completed"
    assert small["path"] == ["fetch", "big", "small"]
    assert small["steps"]["small"]["output"] == {"total": 5}  # the default echo of `with`
    assert down["status"] == "failed" and down["steps"]["fetch"]["attempts"] == 1
    assert down["steps"]["fetch"]["error"]["code"] == "unavailable"
    assert invalid.status_code == 422
    assert "$.definition.steps[0].next" in {e["path"] for e in invalid.json()["errors"]}
    assert both.status_code == 422


async def test_a_test_run_of_a_stored_version_and_who_may_run_one(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    from projections.access import Principal
    from projections.auth import TokenTable

    tokens = TokenTable({"t-vic": Principal(subject="vic", role="viewer")})
    api = make_api(kafka_bootstrap, hw_topics, _views(), tokens=tokens)
    async with client_of(api, "t-vic") as client:
        active = (await client.post("/workflows/test", json={
            "workflow_id": "orders", "input": {"id": "o"},
            "mocks": {"fetch": {"output": {"total": 1}}}})).json()
        draft = (await client.post("/workflows/test", json={
            "workflow_id": "orders", "version": "2.0.0-draft",
            "mocks": {"only": {"output": 7}}})).json()
        missing = await client.post("/workflows/test", json={"workflow_id": "nope"})
        no_version = await client.post("/workflows/test", json={"workflow_id": "orders",
                                                               "version": "9.9.9"})
        hidden = await client.post("/workflows/test", json={"workflow_id": "secret"})
    assert active["path"] == ["fetch", "big", "small"]  # the active 1.2.0, not the newer draft
    assert draft["path"] == ["only"] and draft["steps"]["only"]["output"] == 7
    assert missing.status_code == 404 and no_version.status_code == 404
    assert hidden.status_code == 404


async def test_action_types_are_builtins_and_what_the_log_names(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        everything = (await client.get("/actions")).json()
        first = (await client.get("/actions", params={"limit": 3})).json()
        rest = (await client.get("/actions", params={"cursor": first["next_cursor"]})).json()
        found = (await client.get("/actions", params={"search": "CRM"})).json()
    by_type = {a["type"]: a for a in everything["items"]}
    assert list(by_type) == sorted(by_type)
    assert {"http", "publish", "transform", "log", "delay"} <= set(by_type)
    assert by_type["http"]["builtin"] is True and by_type["http"]["description"]
    assert by_type["crm.sync"] == {"type": "crm.sync", "builtin": False, "description": "",
                                   "seen_in": ["tasks"]}
    assert by_type["billing.charge"]["seen_in"] == ["definitions"]
    assert [a["type"] for a in first["items"] + rest["items"]] == list(by_type)
    assert rest["next_cursor"] is None
    assert [a["type"] for a in found["items"]] == ["crm.sync"]
