"""A failed execution shows its failed node; a waiting one is approved with a signal from its
page and runs on to completion, live on the graph."""

from __future__ import annotations

import re
from typing import Any

from tests.ui.conftest import Stack, shot, sync_api

expect = sync_api.expect if sync_api else None

FAILING = {
    "kind": "workflow", "id": "ui-charge", "name": "Charge an order",
    "steps": [
        {"id": "prepare", "action": "transform", "with": {"order": "${ input.order }"}},
        {"id": "charge", "action": "http", "retry": {"max_attempts": 2, "initial_interval": 0.2},
         "with": {"url": "http://127.0.0.1:9/charge", "method": "POST"}},
        {"id": "notify", "action": "log", "with": {"message": "charged ${ input.order }"}},
    ],
}

APPROVAL = {
    "kind": "workflow", "id": "ui-approval", "name": "Expense approval",
    "steps": [
        {"id": "ask", "type": "wait", "signal": "decision", "timeout": "1h",
         "output": {"approved": "${ output.approved }"}},
        {"id": "decide", "type": "condition", "branches": [{"when": "vars.approved", "next": "approve"}],
         "default": "reject"},
        {"id": "approve", "action": "log", "with": {"message": "approved"}, "next": "$end"},
        {"id": "reject", "action": "log", "with": {"message": "rejected"}},
    ],
}


def _start(stack: Stack, definition: dict[str, Any], payload: dict[str, Any]) -> str:
    stack.publish(definition)
    stack.until("the workflow to be active", lambda: stack.active("workflow", definition["id"]))
    response = stack.client.post(f"/workflows/{definition['id']}/executions", json={"input": payload})
    assert response.status_code == 202, response.text
    return str(response.json()["execution_id"])


def test_a_failed_execution_shows_the_failed_node_with_its_error(stack: Stack, page: Any) -> None:
    execution_id = _start(stack, FAILING, {"order": "o-1"})
    # Opened at once, as "Start" does: the page waits for the execution to appear.
    page.goto(f"/ui/executions/{execution_id}")
    main = page.locator("main")
    expect(main.get_by_text("failed", exact=True).first).to_be_visible(timeout=60_000)
    failed = page.locator(".react-flow__node.selected .step-node.run-failed")
    expect(failed).to_contain_text("charge")
    expect(page.locator('.step-node.run-completed[data-step="prepare"]')).to_have_count(1)
    assert "run-" not in page.locator('.step-node[data-step="notify"]').get_attribute("class")
    panel = page.get_by_role("complementary", name="Step charge")
    expect(panel).to_contain_text("Attempts (2)")
    expect(page.get_by_role("alert").first).to_contain_text("charge")
    duration = page.locator(".fact", has_text="Duration")
    # A real duration, not the zero of a missing end ("780 ms" contains "0 ms": match whole).
    expect(duration).to_have_text(re.compile(r"^Duration\s*(?!0 ms\s*$)\d"))
    expect(page.get_by_role("button", name="Retry from the failed step")).to_be_visible()
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    shot(page, "execution-failed")
    # Keyboard: a focused node opens with Enter.
    page.locator(".react-flow__node", has_text="prepare").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("complementary", name="Step prepare")).to_contain_text("completed")
    page.goto("/ui/executions?status=failed")
    expect(page.locator("tbody tr").first).to_contain_text(execution_id)
    shot(page, "executions")
    # A saved view brings the filter back.
    page.once("dialog", lambda dialog: dialog.accept("Failed runs"))
    page.get_by_role("button", name="Save view").click()
    page.goto("/ui/executions")
    page.get_by_role("button", name="Failed runs", exact=True).click()
    expect(page).to_have_url(f"{stack.url}/ui/executions?status=failed")
    # Bulk retry by filter: the dry run lists what would be retried, nothing is sent yet.
    page.get_by_role("button", name="Bulk action…").click()
    bulk = page.get_by_role("dialog", name="Bulk action")
    bulk.get_by_role("button", name="Preview (dry run)").click()
    expect(bulk.get_by_test_id("bulk-preview")).to_contain_text(execution_id)
    expect(bulk.get_by_role("button", name="Retry 1 execution")).to_be_enabled()


def test_a_waiting_execution_is_approved_with_a_signal_from_its_page(stack: Stack, page: Any) -> None:
    execution_id = _start(stack, APPROVAL, {"amount": 250})
    page.goto(f"/ui/executions/{execution_id}")
    expect(page.locator(".fact", has_text="Status")).to_contain_text("waiting", timeout=60_000)
    expect(page.locator('.step-node.run-waiting[data-step="ask"]')).to_have_count(1)
    shot(page, "execution-waiting")
    page.get_by_role("button", name="Send signal: decision").click()
    dialog = page.get_by_role("dialog", name="Send a signal")
    expect(dialog.get_by_label("Signal name")).to_have_value("decision")
    dialog.get_by_label("Payload (JSON)").fill('{"approved": true}')
    dialog.get_by_role("button", name="Send").click()
    expect(page.locator(".toast")).to_contain_text("Signal decision: sent")
    # Live: the page follows the execution's events without a reload.
    expect(page.locator(".fact", has_text="Status")).to_contain_text("completed", timeout=60_000)
    expect(page.locator('.step-node.run-completed[data-step="approve"]')).to_have_count(1)
    expect(page.locator('.step-node[data-step="reject"]')).not_to_have_class(re.compile(r"\brun-completed\b"))
    page.get_by_role("tab", name="Log").click()
    expect(page.get_by_role("tabpanel")).to_contain_text("approved")
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    shot(page, "execution-approved")
