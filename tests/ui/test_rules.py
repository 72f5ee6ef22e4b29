"""A rule is built with the condition builder, tested against an event, published, and seen
firing: its statistics count the match and the workflow it starts runs."""

from __future__ import annotations

import json
from typing import Any

from tests.ui.conftest import Stack, shot, sync_api

expect = sync_api.expect if sync_api else None

HELLO = {"kind": "workflow", "id": "ui-hello", "name": "Hello from a rule",
         "steps": [{"id": "greet", "action": "log", "with": {"message": "hi ${ input.order_id }"}}]}

EVENT = {"specversion": "1.0", "id": "evt-ui-1", "source": "shop/web", "type": "order.placed",
         "subject": "order-1001",
         "data": {"order_id": "order-1001", "total": 6400, "customer": {"tier": "standard"}}}


def _condition(page: Any, index: int, field: str, operator: str, kind: str, value: str) -> None:
    page.get_by_role("button", name="+ Condition").click()
    row = page.get_by_role("group", name=f"Condition {index}")
    row.get_by_label("Field").fill(field)
    row.get_by_label("Operator").select_option(label=operator)
    row.get_by_label("Value type").select_option(label=kind)
    row.get_by_label("Value", exact=True).fill(value)


def test_build_test_publish_and_see_a_rule_fire(stack: Stack, page: Any) -> None:
    stack.publish(HELLO)
    page.goto("/ui/rules")
    page.get_by_role("link", name="New rule").first.click()
    page.get_by_label("Id", exact=True).fill("ui-big-orders")
    page.get_by_label("Name", exact=True).fill("Big standard orders")
    page.get_by_label("Event type (glob)").fill("order.placed")
    _condition(page, 1, "data.total", ">", "number", "5000")
    _condition(page, 2, "data.customer.tier", "equals", "text", "standard")
    expect(page.get_by_role("group", name="Condition 1")).to_contain_text("sample: 6400")
    page.get_by_label("Workflow", exact=True).fill("ui-hello")
    page.get_by_label("Input mapping").fill('{"order_id": "${ event.data.order_id }"}')
    # The JSON view shows what the builder made.
    page.get_by_role("tab", name="JSON").click()
    raw = json.loads(page.get_by_label("Conditions as the engine reads them").input_value())
    assert raw == {"$and": [{"$gt": {"data.total": 5000}}, {"data.customer.tier": "standard"}]}
    page.get_by_role("tab", name="Builder").click()

    page.get_by_label("Sample event").fill(json.dumps(EVENT, indent=2))
    page.get_by_role("button", name="Run test").click()
    panel = page.get_by_role("region", name="Test the rule")
    if "/rules/test" in stack.client.get("/openapi.json").json()["paths"]:
        expect(panel).to_contain_text("The rule fires on this event.")
        expect(panel).to_contain_text("order-1001")
    else:  # the endpoint is another change's: the panel says so instead of breaking
        expect(panel.get_by_role("alert")).to_contain_text("not available on this server")
    shot(page, "rule-editor")

    page.get_by_role("button", name="Publish 1.0.0").click()
    expect(page.locator(".toast")).to_contain_text("Published ui-big-orders 1.0.0 (active)")
    expect(page.get_by_role("heading", name="Rule ui-big-orders")).to_be_visible()
    stack.until("the rule to be active", lambda: stack.active("rule", "ui-big-orders"))

    response = stack.client.post("/triggers", content=json.dumps(EVENT),
                                 headers={"Content-Type": "application/cloudevents+json"})
    assert response.status_code == 202, response.text
    page.goto("/ui/rules")
    row = page.locator("tr[data-rule='ui-big-orders']")
    expect(row.locator("[data-col=matched]")).to_have_text("1", timeout=60_000)
    shot(page, "rules")
    page.goto("/ui/executions?workflow_id=ui-hello")
    expect(page.locator("tbody tr").first).to_contain_text("completed", timeout=30_000)
