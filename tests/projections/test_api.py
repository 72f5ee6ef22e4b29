"""The read endpoints: what a client gets back, pages, errors, and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from projections import create_api
from projections.store import MemoryStore
from projections.views import fold
from tests.projections.histories import T0, Execution, matched, published, rule_failed

NOW = T0 + timedelta(hours=1)


def _events() -> list[BaseModel]:
    events: list[BaseModel] = [published("workflow", "wf"), published("workflow", "idle"),
                               published("rule", "r1"), published("rule", "quiet")]
    for i in range(5):
        run = Execution(f"e{i}", start=T0 + timedelta(seconds=i)).started(i=i).step_retried("a")
        events += (run.completed() if i else run.step_failed("b").failed("b")).events
    return [*events, matched("r1", "ev1", us=200), rule_failed("r1", "ev2")]


@pytest.fixture
def client() -> Iterator[TestClient]:
    store = MemoryStore()
    store.write(fold(store, _events()))
    api = create_api("127.0.0.1:1", {"executions": "hw.executions"}, store=store,
                     project=False, clock=lambda: NOW)
    with TestClient(api) as client:
        yield client


def test_list_executions_filters_and_pages(client: TestClient) -> None:
    body = client.get("/executions", params={"limit": 2}).json()
    assert [e["execution_id"] for e in body["items"]] == ["e4", "e3"]
    rest = client.get("/executions", params={"limit": 10, "cursor": body["next_cursor"]}).json()
    assert [e["execution_id"] for e in rest["items"]] == ["e2", "e1", "e0"]
    assert rest["next_cursor"] is None
    failed = client.get("/executions", params={"status": "failed"}).json()["items"]
    assert [e["execution_id"] for e in failed] == ["e0"]
    window = client.get("/executions", params={"started_after": (T0 + timedelta(seconds=1)).isoformat(),
                                               "started_before": (T0 + timedelta(seconds=3)).isoformat()})
    assert [e["execution_id"] for e in window.json()["items"]] == ["e2", "e1"]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"cursor": "bogus"},
                                    {"started_after": "yesterday"}])
def test_bad_list_parameters_are_422(client: TestClient, params: dict[str, object]) -> None:
    assert client.get("/executions", params=params).status_code == 422


def test_execution_detail_and_404(client: TestClient) -> None:
    body = client.get("/executions/e0").json()
    assert body["summary"]["status"] == "failed"
    assert body["detail"]["variables"] == {"i": 0}
    assert [a["outcome"] for a in body["detail"]["steps"]["a"]["attempts"]] == ["failed", "completed"]
    assert body["timeline"][0]["type"] == "execution_started"
    missing = client.get("/executions/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_workflow_stats(client: TestClient) -> None:
    body = client.get("/workflows/wf/stats").json()
    assert body["total"] == 5 and body["by_status"] == {"completed": 4, "failed": 1}
    assert body["success_rate"] == 0.8
    assert body["duration_ms"]["count"] == 5 and body["duration_ms"]["p50"] > 0
    assert body["step_failures"] == {"b": 1} and body["step_retries"] == {"a": 5}
    idle = client.get("/workflows/idle/stats").json()  # published, never ran
    assert idle["total"] == 0 and idle["success_rate"] is None
    assert client.get("/workflows/unknown/stats").status_code == 404


def test_rule_stats(client: TestClient) -> None:
    body = client.get("/rules/r1/stats").json()
    assert (body["evaluations"], body["matched"], body["failed"]) == (2, 1, 1)
    assert body["success_rate"] == 0.5 and body["match_rate"] == 0.5
    assert body["evaluation_us_mean"] == 100.0
    assert body["last_match"]["event_id"] == "ev1"
    assert body["errors"] == {"expression_error": 1}
    assert client.get("/rules/quiet/stats").json()["evaluations"] == 0
    assert client.get("/rules/unknown/stats").status_code == 404


def test_dashboard_uses_the_api_clock(client: TestClient) -> None:
    body = client.get("/dashboard", params={"hours": 3}).json()
    assert (body["active_workflows"], body["active_rules"]) == (2, 2)
    assert body["executions_today"] == 5 and body["running"] == 0
    assert [b["started"] for b in body["trend"]] == [0, 5, 0]
    assert client.get("/dashboard", params={"tz": "Mars/Olympus"}).status_code == 422


def test_lag_is_503_without_a_projector(client: TestClient) -> None:
    assert client.get("/views/lag").status_code == 503


def test_openapi_documents_every_read_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/executions", "/executions/{execution_id}", "/workflows/{workflow_id}/stats",
                 "/rules/{rule_id}/stats", "/dashboard", "/views/lag", "/health", "/workflows",
                 "/workflows/{workflow_id}", "/rules", "/rules/{rule_id}"):
        assert "get" in paths[path], path
    # the execution reads answer raw JSON but still document their models
    detail = paths["/executions/{execution_id}"]["get"]["responses"]["200"]
    assert detail["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ExecutionView"}


def test_workflows_and_rules_list_with_versions_by_id_in_pages(client: TestClient) -> None:
    first = client.get("/workflows", params={"limit": 1}).json()
    assert [w["definition_id"] for w in first["items"]] == ["idle"]
    rest = client.get("/workflows", params={"cursor": first["next_cursor"]}).json()
    assert [w["definition_id"] for w in rest["items"]] == ["wf"] and rest["next_cursor"] is None
    wf = rest["items"][0]
    assert (wf["name"], wf["latest"], wf["status"], wf["active"]) == ("Wf", "1.0.0", "active", True)
    assert [v["version"] for v in wf["versions"]] == ["1.0.0"]
    rules = client.get("/rules").json()["items"]
    assert [r["definition_id"] for r in rules] == ["quiet", "r1"]


def test_workflow_and_rule_lists_filter_on_a_version_status() -> None:
    store = MemoryStore()
    store.write(fold(store, [published("workflow", "on"), published("workflow", "off", status="paused"),
                             published("rule", "old", status="deprecated")]))
    api = create_api("127.0.0.1:1", {"executions": "hw.executions"}, store=store, project=False)
    with TestClient(api) as client:
        def ids(path: str, status: str) -> list[str]:
            body = client.get(path, params={"status": status}).json()
            return [d["definition_id"] for d in body["items"]]

        assert ids("/workflows", "paused") == ["off"]
        assert ids("/workflows", "active") == ["on"]
        assert ids("/rules", "deprecated") == ["old"] and ids("/rules", "active") == []
        assert client.get("/workflows", params={"status": "sleeping"}).status_code == 422


def test_one_workflow_or_rule_and_404(client: TestClient) -> None:
    assert client.get("/workflows/wf").json()["versions"][0]["status"] == "active"
    assert client.get("/rules/r1").json()["kind"] == "rule"
    for path in ("/workflows/nope", "/rules/nope"):
        missing = client.get(path)
        assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_the_detail_pages_its_timeline(client: TestClient) -> None:
    whole = client.get("/executions/e0").json()["timeline"]
    first = client.get("/executions/e0", params={"timeline_limit": 3}).json()
    assert [e["seq"] for e in first["timeline"]] == [1, 2, 3] and first["timeline_next"] == 3
    rest = client.get("/executions/e0", params={"timeline_after": 3}).json()
    assert first["timeline"] + rest["timeline"] == whole and rest["timeline_next"] is None
    assert client.get("/executions/e0", params={"timeline_limit": 0}).status_code == 422


def test_lists_filter_by_workflow_and_status_and_refuse_an_unknown_status(client: TestClient) -> None:
    both = client.get("/executions", params={"workflow_id": "wf", "status": "completed"}).json()
    assert [e["execution_id"] for e in both["items"]] == ["e4", "e3", "e2", "e1"]
    assert client.get("/executions", params={"workflow_id": "idle"}).json()["items"] == []
    bad = client.get("/executions", params={"status": "sleeping"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.status"
