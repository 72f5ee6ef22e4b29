"""The authorization matrix: each role against each endpoint, owner against non-owner.

Subjects: ``root`` (admin), ``alice`` (editor, owner of everything here), ``eve`` (editor,
owns nothing), ``olga`` (operator, collaborator on the private workflow), ``oscar``
(operator, no relation), ``vic`` (viewer). Objects: ``mine`` (private), ``team`` (team).
Every cell is written out: a wrong policy fails some cell, and every denial is exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from projections.access import Principal
from projections.auth import TokenTable
from schemas.dead_letters import DeadLetter
from schemas.template_events import TemplateSaved
from tests.projections.apikit import client_of, make_api, owned
from tests.projections.histories import T0, Execution

pytestmark = pytest.mark.kafka

SUBJECTS = {"root": "admin", "alice": "editor", "eve": "editor", "olga": "operator",
            "oscar": "operator", "vic": "viewer"}
TOKENS = TokenTable({f"tok-{s}": Principal(subject=s, role=r) for s, r in SUBJECTS.items()})  # type: ignore[arg-type]
OK = 200  # any 2xx

# Expected outcome per (right, object) and subject.
EXPECT: dict[tuple[str, str], dict[str, int]] = {
    ("view", "mine"): {"root": OK, "alice": OK, "eve": 404, "olga": OK, "oscar": 404, "vic": 404},
    ("run", "mine"): {"root": OK, "alice": OK, "eve": 404, "olga": OK, "oscar": 404, "vic": 404},
    ("edit", "mine"): {"root": OK, "alice": OK, "eve": 404, "olga": 403, "oscar": 404, "vic": 404},
    ("view", "team"): {"root": OK, "alice": OK, "eve": OK, "olga": OK, "oscar": OK, "vic": OK},
    ("run", "team"): {"root": OK, "alice": OK, "eve": OK, "olga": OK, "oscar": OK, "vic": 403},
    ("edit", "team"): {"root": OK, "alice": OK, "eve": 403, "olga": 403, "oscar": 403, "vic": 403},
    ("view", "rule"): {"root": OK, "alice": OK, "eve": OK, "olga": OK, "oscar": OK, "vic": OK},
    ("edit", "rule"): {"root": OK, "alice": OK, "eve": 403, "olga": 403, "oscar": 403, "vic": 403},
    ("view", "global"): {"root": OK, "alice": OK, "eve": OK, "olga": OK, "oscar": OK, "vic": OK},
    ("run", "global"): {"root": OK, "alice": OK, "eve": OK, "olga": OK, "oscar": OK, "vic": 403},
    ("edit", "global"): {"root": OK, "alice": OK, "eve": OK, "olga": 403, "oscar": 403, "vic": 403},
    ("view", "template"): {"root": OK, "alice": OK, "eve": OK, "olga": OK, "oscar": OK, "vic": OK},
    ("edit", "template"): {"root": OK, "alice": OK, "eve": 403, "olga": 403, "oscar": 403, "vic": 403},
    ("admin", "global"): {"root": OK, "alice": 403, "eve": 403, "olga": 403, "oscar": 403, "vic": 403},
}

Call = Callable[[httpx.AsyncClient, str], Any]
RULE_BODY = {"id": "r-alice", "name": "R", "owner": "alice", "trigger": {"event_type": "t"},
             "actions": [{"type": "start_workflow", "workflow_id": "team"}]}
TEST_EVENT = {"id": "e1", "source": "s", "type": "t", "data": {}}


def _definition(x: str) -> dict[str, Any]:
    visibility = "private" if x == "mine" else "team"
    return {"id": x, "name": x.title(), "version": "1.1.0", "owner": "alice",
            "collaborators": ["olga"] if x == "mine" else [], "visibility": visibility,
            "steps": [{"id": "a", "action": "log"}]}


ENDPOINTS: dict[str, tuple[str, Call]] = {
    "get definition": ("view", lambda c, x: c.get(f"/definitions/workflow/{x}")),
    "get workflow": ("view", lambda c, x: c.get(f"/workflows/{x}")),
    "get version body": ("view", lambda c, x: c.get(f"/definitions/workflow/{x}/versions/1.0.0")),
    "get execution": ("view", lambda c, x: c.get(f"/executions/x-{x}")),
    "workflow stats": ("view", lambda c, x: c.get(f"/workflows/{x}/stats")),
    "follow execution": ("view", lambda c, x: c.get(f"/executions/x-{x}-done/events")),
    "start": ("run", lambda c, x: c.post(f"/workflows/{x}/executions", json={})),
    "cancel": ("run", lambda c, x: c.post(f"/executions/x-{x}/cancel", json={})),
    "retry": ("run", lambda c, x: c.post(f"/executions/x-{x}-failed/retry")),
    "signal": ("run", lambda c, x: c.post(f"/executions/x-{x}/signals/go", json={})),
    "migrate": ("run", lambda c, x: c.post("/executions/migrate", json={
        "workflow_id": x, "to_version": "1.0.0", "execution_ids": [f"x-{x}"]})),
    "test a version": ("view", lambda c, x: c.post("/workflows/test", json={
        "workflow_id": x, "version": "1.0.0"})),
    "publish version": ("edit", lambda c, x: c.post("/definitions", json=_definition(x))),
    "history": ("view", lambda c, x: c.get(f"/definitions/workflow/{x}/history")),
    "diff": ("view", lambda c, x: c.get(f"/definitions/workflow/{x}/diff",
                                        params={"from": "1.0.0", "to": "1.0.0"})),
    "comments": ("view", lambda c, x: c.get(f"/definitions/workflow/{x}/comments")),
    "comment": ("run", lambda c, x: c.post(f"/definitions/workflow/{x}/comments",
                                           json={"text": "looks right"})),
    "change status": ("edit", lambda c, x: c.post(f"/definitions/workflow/{x}/versions/1.0.0/status",
                                                  json={"status": "paused"})),
}
RULE_ENDPOINTS: dict[str, tuple[str, Call]] = {
    "rule stats": ("view", lambda c, _: c.get("/rules/r-alice/stats")),
    "get rule": ("view", lambda c, _: c.get("/definitions/rule/r-alice")),
    "get rule (catalogue)": ("view", lambda c, _: c.get("/rules/r-alice")),
    "test rule by id": ("view", lambda c, _: c.post("/rules/test", json={
        "rule_id": "r-alice", "event": TEST_EVENT})),
    "rule insights": ("view", lambda c, _: c.get("/rules/r-alice/insights")),
    "rule firings": ("view", lambda c, _: c.get("/rules/r-alice/firings",
                                                 params={"result": "failed", "limit": 5})),
    "rule status": ("edit", lambda c, _: c.post("/definitions/rule/r-alice/versions/1.0.0/status",
                                                json={"status": "deprecated"})),
}
TEMPLATE_ENDPOINTS: dict[str, tuple[str, Call]] = {
    "get template": ("view", lambda c, _: c.get("/templates/t-alice")),
    "instantiate template": ("view", lambda c, _: c.post("/templates/t-alice/instantiate",
                                                         json={"workflow_id": "made"})),
    "delete template": ("edit", lambda c, _: c.delete("/templates/t-alice")),
}
GLOBAL_ENDPOINTS: dict[str, tuple[str, Call]] = {
    "list executions": ("view", lambda c, _: c.get("/executions")),
    "list definitions": ("view", lambda c, _: c.get("/definitions")),
    "list workflows": ("view", lambda c, _: c.get("/workflows")),
    "list rules": ("view", lambda c, _: c.get("/rules")),
    "dashboard": ("view", lambda c, _: c.get("/dashboard")),
    "all rule insights": ("view", lambda c, _: c.get("/rules/insights")),
    "test inline rule": ("view", lambda c, _: c.post("/rules/test", json={
        "rule": RULE_BODY, "event": TEST_EVENT})),
    "ingest trigger": ("run", lambda c, _: c.post("/triggers", json={}, headers={"ce-type": "t"})),
    "ingest batch": ("run", lambda c, _: c.post("/triggers/batch", json=[])),
    "bulk": ("run", lambda c, _: c.post("/executions/bulk", json={"action": "retry"})),
    "validate": ("view", lambda c, _: c.post("/definitions/validate", json={
        "id": "v", "name": "V", "steps": [{"id": "a", "action": "log"}]})),
    "check expression": ("view", lambda c, _: c.post("/expressions/check", json={"source": "1"})),
    "test inline": ("view", lambda c, _: c.post("/workflows/test", json={"definition": {
        "id": "v", "name": "V", "steps": [{"id": "a", "action": "log"}]}})),
    "list action types": ("view", lambda c, _: c.get("/actions")),
    "list dead letters": ("run", lambda c, _: c.get("/dead-letters")),
    "dead letter counts": ("run", lambda c, _: c.get("/dead-letters/summary")),
    "get dead letter": ("run", lambda c, _: c.get("/dead-letters/hw.triggers:0:1")),
    "redrive dead letters": ("run", lambda c, _: c.post("/dead-letters/redrive",
                                                        json={"ids": ["nope"], "dry_run": True})),
    "list templates": ("view", lambda c, _: c.get("/templates")),
    "save template": ("edit", lambda c, _: c.post("/templates", json={
        "template_id": "t-new", "name": "New", "definition": {
            "id": "n", "name": "N", "steps": [{"id": "a", "action": "log"}]}})),
    "rebuild progress": ("admin", lambda c, _: c.get("/admin/views/rebuild")),
    "publish new": ("edit", lambda c, _: c.post("/definitions", json={
        "id": "brand-new", "name": "New", "steps": [{"id": "a", "action": "log"}]})),
}


def _views() -> list[BaseModel]:
    events: list[BaseModel] = [
        owned("workflow", "mine", "alice", collaborators=["olga"], visibility="private",
              steps=[{"id": "a", "action": "log"}]),
        owned("workflow", "team", "alice", steps=[{"id": "a", "action": "log"}]),
        owned("rule", "r-alice", "alice").model_copy(update={"definition": RULE_BODY})]
    events.append(TemplateSaved(template_id="t-alice", name="T", saved_by="alice", saved_at=T0,
                                definition={"id": "t", "name": "T",
                                            "steps": [{"id": "a", "action": "log"}]}))
    events.append(DeadLetter(topic="hw.triggers", partition=0, offset=1, value=b"{}",
                             reason="invalid_cloudevent", failed_at=T0))
    for x in ("mine", "team"):
        events += Execution(f"x-{x}", workflow_id=x).started().events
        events += Execution(f"x-{x}-failed", workflow_id=x).started().step_failed("b").failed().events
        events += Execution(f"x-{x}-done", workflow_id=x).started().completed().events
    return events


def _outcome(status: int) -> int:
    return OK if 200 <= status < 300 else status


CASES = [(name, x) for name in ENDPOINTS for x in ("mine", "team")]
CASES += [(name, "rule") for name in RULE_ENDPOINTS] + [(name, "global") for name in GLOBAL_ENDPOINTS]
CASES += [(name, "template") for name in TEMPLATE_ENDPOINTS]


async def test_every_role_against_every_endpoint(kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views(), tokens=TOKENS)
    table = ENDPOINTS | RULE_ENDPOINTS | GLOBAL_ENDPOINTS | TEMPLATE_ENDPOINTS
    wrong: list[str] = []
    denials = 0
    async with client_of(api) as client:
        for name, target in CASES:
            right, call = table[name]
            for subject, want in EXPECT[(right, target)].items():
                client.headers["Authorization"] = f"Bearer tok-{subject}"
                response = await call(client, target)
                got = _outcome(response.status_code)
                denials += want != OK
                if got != want:
                    wrong.append(f"{name} on {target} as {subject}: {response.status_code} "
                                 f"(want {want}) {response.text[:120]}")
    assert not wrong, "\n".join(wrong)
    assert denials >= 50


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic tok-root", "Bearer "])
async def test_no_or_bad_token_is_401_everywhere_but_health_and_metrics(
        kafka_bootstrap: str, hw_topics: dict[str, str], header: str | None) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views(), tokens=TOKENS)
    table = ENDPOINTS | RULE_ENDPOINTS | GLOBAL_ENDPOINTS | TEMPLATE_ENDPOINTS
    async with client_of(api) as client:
        if header is not None:
            client.headers["Authorization"] = header
        for name, target in CASES:
            response = await table[name][1](client, target)
            assert response.status_code == 401, name
            assert response.headers["www-authenticate"] == "Bearer"
        assert (await client.get("/metrics")).status_code == 200
        assert (await client.get("/health")).status_code in (200, 503)
        assert (await client.get("/openapi.json")).status_code == 200


async def test_lists_leave_out_what_the_caller_cannot_see(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views(), tokens=TOKENS)

    async def as_(client: httpx.AsyncClient, subject: str, path: str, **kw: Any) -> Any:
        client.headers["Authorization"] = f"Bearer tok-{subject}"
        return (await client.request(kw.pop("method", "GET"), path, **kw)).json()

    async with client_of(api) as client:
        eve = await as_(client, "eve", "/executions", params={"limit": 2})
        eve_rest = await as_(client, "eve", "/executions", params={"cursor": eve["next_cursor"]})
        olga = await as_(client, "olga", "/executions")
        eve_defs = await as_(client, "eve", "/definitions")
        eve_workflows = await as_(client, "eve", "/workflows", params={"limit": 1})
        olga_workflows = await as_(client, "olga", "/workflows")
        eve_waiting = await as_(client, "eve", "/executions", params={"status": "failed"})
        eve_bulk = await as_(client, "eve", "/executions/bulk", method="POST", json={"action": "retry"})
    seen = [x["execution_id"] for x in eve["items"] + eve_rest["items"]]
    assert sorted(seen) == ["x-team", "x-team-done", "x-team-failed"]
    assert len(eve["items"]) == 2  # a page is filled from the visible ones
    assert {x["workflow_id"] for x in olga["items"]} == {"mine", "team"}
    assert [d["definition_id"] for d in eve_defs] == ["team"]
    assert [d["definition_id"] for d in eve_workflows["items"]] == ["team"]  # filled past "mine"
    assert [d["definition_id"] for d in olga_workflows["items"]] == ["mine", "team"]
    assert [x["execution_id"] for x in eve_waiting["items"]] == ["x-team-failed"]
    assert eve_bulk["matched"] == ["x-team-failed"]


async def test_ownership_rules_for_publishing(kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, [*_views(), owned("workflow", "shared", "alice",
                                                                 collaborators=["eve"])], tokens=TOKENS)
    new = {"id": "fresh", "name": "Fresh", "steps": [{"id": "a", "action": "log"}]}
    shared = {"id": "shared", "name": "Shared", "version": "2.0.0", "owner": "alice",
              "collaborators": ["eve"], "steps": [{"id": "a", "action": "log"}]}
    async with client_of(api, "tok-eve") as client:
        for_someone_else = await client.post("/definitions", json={**new, "owner": "alice"})
        for_herself = await client.post("/definitions", json={**new, "owner": "eve"})
        as_collaborator = await client.post("/definitions", json=shared)
        takeover = await client.post("/definitions", json={**shared, "owner": "eve"})
    assert for_someone_else.status_code == 403
    assert for_herself.status_code == 201 and as_collaborator.status_code == 201
    assert takeover.status_code == 403


async def test_without_tokens_everyone_is_an_admin(kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        assert (await client.get("/executions/x-mine")).status_code == 200
        assert (await client.post("/executions/x-mine/cancel", json={})).status_code == 202
