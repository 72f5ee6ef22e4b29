"""A rule whose started workflow fails one time in four: the rules list counts its failed
firings and flags an insight; its page shows the failing-actions insight with the most common
error, and its firings, filtered to the failed ones, with each action's end; the monitoring
page's insights panel leads to it."""

from __future__ import annotations

import json
from typing import Any

from tests.ui.conftest import Stack, shot, sync_api

expect = sync_api.expect if sync_api else None
EVENTS = 20
FAILING = {n for n in range(1, EVENTS + 1) if n % 4 == 0}  # d = 0: division by zero

DIVIDE = {"kind": "workflow", "id": "ui-divide", "name": "Divide",
          "steps": [{"id": "calc", "action": "transform", "with": {"value": "${ 100 / input.d }"}}]}
RULE = {"kind": "rule", "id": "ui-divider", "name": "Divide on request",
        "trigger": {"event_type": "calc.requested"},
        "actions": [{"type": "start_workflow", "workflow_id": "ui-divide",
                     "input": {"d": "${ event.data.d }"}}]}


def _settled(stack: Stack) -> dict[str, Any] | None:
    response = stack.client.get("/rules/ui-divider/stats")
    if response.status_code != 200:
        return None
    stats = response.json()
    done = stats["firings"]["fired"] == EVENTS and stats["firings"]["pending"] == 0
    return stats if done else None


def test_the_rule_pages_show_insights_and_firings(stack: Stack, page: Any) -> None:
    stack.publish(DIVIDE)
    stack.publish(RULE)
    stack.until("the rule to be active", lambda: stack.active("rule", "ui-divider"))
    for n in range(1, EVENTS + 1):
        event = {"specversion": "1.0", "id": f"calc-{n}", "source": "ui-test",
                 "type": "calc.requested", "subject": f"c-{n}",
                 "data": {"d": 0 if n in FAILING else 1}}
        response = stack.client.post("/triggers", content=json.dumps(event),
                                     headers={"Content-Type": "application/cloudevents+json"})
        assert response.status_code == 202, response.text
    stats = stack.until("the firings to settle", lambda: _settled(stack), timeout_s=90)
    assert stats["firings"]["failed"] == len(FAILING)

    page.goto("/ui/rules")
    row = page.locator("tr[data-rule='ui-divider']")
    expect(row.locator("[data-col=firings-failed]")).to_have_text(f"{len(FAILING)} of {EVENTS}")
    # The analysis is cached for 30 s: the list refreshes until it shows the finding.
    expect(row.locator("[data-col=insights]")).to_contain_text("1 insight", timeout=60_000)
    shot(page, "rules-insights")

    row.get_by_role("link", name="Divide on request").click()
    insights = page.get_by_role("region", name="Insights")
    finding = insights.locator("[data-kind=failing_actions]")
    expect(finding).to_contain_text("Failing actions", timeout=30_000)
    expect(finding).to_contain_text(f"{len(FAILING)} of {EVENTS} activations failed")
    expect(finding.get_by_role("table", name="Most common errors")).to_contain_text(
        "action_failed:start_workflow")

    firings = page.get_by_role("region", name="Firings")
    expect(firings.locator("tbody tr")).to_have_count(EVENTS)
    firings.get_by_label("Show").select_option("failed")
    rows = firings.locator("tbody tr")
    expect(rows).to_have_count(len(FAILING))
    shown = {rows.nth(i).get_attribute("data-event") for i in range(len(FAILING))}
    assert shown == {f"calc-{n}" for n in FAILING}
    first = rows.first
    expect(first).to_contain_text("start_workflow")
    expect(first).to_contain_text("expression_error")
    expect(first.get_by_role("link", name="execution")).to_be_visible()
    shot(page, "rule-activity")
    firings.get_by_label("Show").select_option("pending")
    expect(firings).to_contain_text("No pending firings")

    # The monitoring page lists the most harmful insights across rules, linking to the rule.
    page.goto("/ui/monitoring")
    panel = page.get_by_role("region", name="Rule insights")
    item = panel.locator("li[data-kind=failing_actions]")
    expect(item).to_contain_text("Failing actions")
    item.get_by_role("link", name="ui-divider").click()
    expect(page.get_by_role("heading", name="Rule ui-divider")).to_be_visible()
