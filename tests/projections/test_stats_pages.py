"""``GET /stats/workflows`` and ``/stats/rules``: a list page's statistics in one request, by
id, paged, leaving out what the caller may not view."""

from __future__ import annotations

from projections.auth import TokenTable
from tests.projections.apikit import TOKENS, client_of, make_api, owned
from tests.projections.histories import Execution, matched, published, skipped

TOPICS = {"executions": "hw.executions"}


async def test_rule_stats_page_counts_each_rule_and_pages_by_id() -> None:
    events = [published("rule", "r-a"), published("rule", "r-b"), published("rule", "r-c"),
              matched("r-a", "e1"), matched("r-a", "e2"), skipped("r-a", "e3"),
              skipped("r-b", "e1")]
    api = make_api("127.0.0.1:1", TOPICS, events)
    async with client_of(api) as client:
        first = (await client.get("/stats/rules", params={"limit": 2})).json()
        rest = (await client.get("/stats/rules",
                                 params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [(r["rule_id"], r["evaluations"], r["matched"]) for r in first["items"]] == [
        ("r-a", 3, 2), ("r-b", 1, 0)]
    assert [(r["rule_id"], r["evaluations"]) for r in rest["items"]] == [("r-c", 0)]
    assert rest["next_cursor"] is None


async def test_workflow_stats_page_leaves_out_private_workflows_of_others() -> None:
    events = [owned("workflow", "wf"), owned("workflow", "secret", "eve", visibility="private"),
              *Execution("x1").started().completed().events,
              *Execution("x2").started().step_failed("b").failed("b").events]
    api = make_api("127.0.0.1:1", TOPICS, events, tokens=TokenTable(TOKENS))
    async with client_of(api, "t-viewer") as client:
        page = (await client.get("/stats/workflows")).json()
    assert [(w["workflow_id"], w["total"], w["by_status"]) for w in page["items"]] == [
        ("wf", 2, {"completed": 1, "failed": 1})]
    assert page["items"][0]["duration_ms"]["count"] == 2
