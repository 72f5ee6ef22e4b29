"""Migrating waiting executions to a new version from the UI, as a Camunda Operate user does:
open the workflow's migration page, see the unmapped step, map it, run the dry run, look at the
per-execution verdicts, confirm, and the executions are on the new version (checked through
the API) and finish there."""

from __future__ import annotations

import json
from typing import Any

from tests.ui.conftest import Stack, shot, sync_api

expect = sync_api.expect if sync_api else None

WORKFLOW = "ui-migrate"
V1 = {
    "kind": "workflow", "id": WORKFLOW, "name": "Migrated approvals", "version": "1.0.0",
    "steps": [
        {"id": "hold", "type": "wait", "signal": "go", "timeout": "1h"},
        {"id": "done", "action": "transform", "with": {"v": 1}},
    ],
}
V2 = {
    "kind": "workflow", "id": WORKFLOW, "name": "Migrated approvals", "version": "2.0.0",
    "steps": [
        {"id": "held", "type": "wait", "signal": "go", "timeout": "1h"},
        {"id": "done", "action": "transform", "with": {"v": 2}},
    ],
}


def _summary(stack: Stack, execution_id: str) -> dict[str, Any] | None:
    view = stack.execution(execution_id)
    return view["summary"] if view else None


def _versions(stack: Stack) -> int:
    response = stack.client.get(f"/workflows/{WORKFLOW}")
    return len(response.json()["versions"]) if response.status_code == 200 else 0


def test_waiting_executions_move_to_the_new_version_after_a_dry_run(stack: Stack, page: Any) -> None:
    stack.publish(V1)
    stack.until("v1 to be active", lambda: stack.active("workflow", WORKFLOW))
    ids = []
    for n in range(2):
        started = stack.client.post(f"/workflows/{WORKFLOW}/executions",
                                    json={"input": {"n": n}, "version": "1.0.0"})
        assert started.status_code == 202, started.text
        ids.append(started.json()["execution_id"])
    for execution_id in ids:
        stack.until(f"{execution_id} to wait", lambda e=execution_id: (
            (_summary(stack, e) or {}).get("status") == "waiting"))
    stack.publish(V2)
    stack.until("both versions to be listed", lambda: _versions(stack) == 2)

    page.goto("/ui/workflows")
    page.get_by_role("link", name=f"Migrate running executions of {WORKFLOW}").click()
    expect(page.get_by_role("heading", name="Migrate running executions")).to_be_visible()
    expect(page.get_by_label("Running version (from)")).to_have_value("1.0.0")
    expect(page.get_by_label("Target version (to)")).to_have_value("2.0.0")
    # Prefilled by id: `done` maps to itself, `hold` has no counterpart and says so.
    expect(page.get_by_label("Target of done")).to_have_value("done")
    expect(page.get_by_label("Target of hold")).to_have_value("")
    expect(page.locator('tr[data-step="hold"] [data-code="unmapped"]')).to_contain_text(
        "hold has no step in 2.0.0")

    # The dry run as it stands: both executions wait on `hold`, so both would be refused, with
    # the engine's reason; nothing can be migrated yet.
    page.get_by_role("button", name="Dry run").click()
    dry = page.get_by_test_id("migration-dry-run")
    expect(dry).to_contain_text("0 would migrate, 2 would be refused")
    for execution_id in ids:
        row = page.locator(f'tr[data-execution="{execution_id}"]')
        expect(row).to_contain_text("would be refused")
        expect(row).to_contain_text("step_missing")
    expect(page.get_by_role("button", name="Migrate 0 executions to 2.0.0")).to_be_disabled()

    # An API error is shown with the field it names (the API's one error shape).
    refusal = {"detail": "the request is not valid", "errors": [
        {"path": "body.mapping.hold", "code": "unknown_step", "message": "no such step"}]}
    page.route("**/executions/migrate", lambda route: route.fulfill(
        status=422, content_type="application/json", body=json.dumps(refusal)))
    page.get_by_role("button", name="Dry run").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("the request is not valid")
    expect(alert).to_contain_text("body.mapping.hold")
    expect(alert).to_contain_text("no such step")
    page.unroute("**/executions/migrate")

    # Map `hold` onto `held`: the problem goes, the old dry run is out of date, the new one
    # says both would migrate.
    page.get_by_label("Target of hold").select_option("held")
    expect(page.locator('tr[data-step="hold"] [data-code]')).to_have_count(0)
    page.get_by_role("button", name="Dry run").click()
    expect(dry).to_contain_text("2 would migrate, 0 would be refused")
    for execution_id in ids:
        expect(page.locator(f'tr[data-execution="{execution_id}"]')).to_contain_text("would migrate")
    shot(page, "migration-dry-run")

    page.get_by_role("button", name="Migrate 2 executions to 2.0.0").click()
    outcome = page.get_by_test_id("migration-outcome")
    expect(outcome).to_contain_text("Migration sent for 2 of 2 executions")
    for execution_id in ids:
        expect(page.locator(f'tr[data-execution="{execution_id}"]')).to_contain_text("sent")
    shot(page, "migration-outcome")

    # Through the API: both run 2.0.0 now, and finish there (the signal reaches `held`).
    for execution_id in ids:
        stack.until(f"{execution_id} on 2.0.0", lambda e=execution_id: (
            (_summary(stack, e) or {}).get("workflow_version") == "2.0.0"))
        sent = stack.client.post(f"/executions/{execution_id}/signals/go", json={"payload": {}})
        assert sent.status_code == 202, sent.text
    for execution_id in ids:
        stack.until(f"{execution_id} to complete", lambda e=execution_id: (
            (_summary(stack, e) or {}).get("status") == "completed"))
        steps = stack.execution(execution_id)["detail"]["steps"]
        assert {"held", "done"} <= set(steps), steps
