"""A test-run answer pinned in the designer is stored on the server for the workflow: it is
still pinned after a reload, another browser (another designer) sees it, and a test run
answers with it."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import TOKEN, Stack, shot, sync_api

expect = sync_api.expect if sync_api else None

WORKFLOW = {
    "kind": "workflow", "id": "ui-pins", "name": "Pins",
    "steps": [
        {"id": "lookup", "action": "http", "with": {"url": "https://crm.example/customers"}},
        {"id": "note", "action": "transform", "with": {"tier": "${ steps.lookup.output.tier }"}},
    ],
    "outputs": {"tier": "${ steps.note.output.tier }"},
    "layout": {"nodes": {"lookup": {"x": 0, "y": 0}, "note": {"x": 0, "y": 140}}},
}


def _open(page: Any) -> None:
    page.goto("/ui/designer/ui-pins")
    page.wait_for_selector('.react-flow__node[data-id="note"]')


def test_a_pinned_answer_is_kept_on_the_server_and_shared(stack: Stack, page: Any,
                                                          browser: Any) -> None:
    stack.publish(WORKFLOW)
    stack.until("the workflow to be listed", lambda: stack.active("workflow", "ui-pins"))
    _open(page)
    page.locator('.react-flow__node[data-id="lookup"]').click()
    pin = page.get_by_role("region", name="Pinned test answer")
    pin.get_by_label("Pinned answer", exact=True).fill('{"tier": "gold"}')
    pin.get_by_role("button", name="Pin").click()
    expect(page.locator('.react-flow__node[data-id="lookup"] .badge-pin')).to_be_visible()

    stored = stack.until("the pin to reach the view", lambda: stack.client.get(
        "/workflows/ui-pins/test-mocks").json()["mocks"])
    assert stored == {"lookup": {"output": {"tier": "gold"}}}

    # A reload: the pin is still there, and the test run answers with it.
    page.reload()
    page.wait_for_selector('.react-flow__node[data-id="lookup"] .badge-pin')
    page.get_by_role("tab", name="Test run").click()
    page.get_by_test_id("run-test").click()
    expect(page.get_by_test_id("test-result")).to_contain_text("gold")
    shot(page, "designer-pinned")

    # Another designer (a fresh browser context, nothing in its storage) sees the same pin.
    other = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=stack.url)
    other.add_init_script(f"localStorage.setItem('headwater.token', '{TOKEN}')")
    second = other.new_page()
    try:
        _open(second)
        second.wait_for_selector('.react-flow__node[data-id="lookup"] .badge-pin')
        second.locator('.react-flow__node[data-id="lookup"]').click()
        region = second.get_by_role("region", name="Pinned test answer")
        expect(region.get_by_label("Pinned answer", exact=True)).to_have_value('{"tier":"gold"}')
        # Unpinning there is seen here after a reload.
        region.get_by_role("button", name="Unpin").click()
        stack.until("the unpin to reach the view", lambda: stack.client.get(
            "/workflows/ui-pins/test-mocks").json()["mocks"] == {})
    finally:
        other.close()
    page.reload()
    page.wait_for_selector('.react-flow__node[data-id="note"]')
    expect(page.locator('.react-flow__node[data-id="lookup"] .badge-pin')).to_have_count(0)
