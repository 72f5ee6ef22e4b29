"""Every page opens without an error on the whole stack, in light and dark, and is kept as a
screenshot; templates ask before replacing a draft; /docs works from local files."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import Stack, shot, sync_api

expect = sync_api.expect if sync_api else None

PAGES = [("dashboard", "/ui/", "Dashboard"), ("workflows", "/ui/workflows", "Workflows"),
         ("designer", "/ui/designer", None), ("executions", "/ui/executions", "Executions"),
         ("rules", "/ui/rules", "Rules"), ("templates", "/ui/templates", "Templates"),
         ("monitoring", "/ui/monitoring", "Monitoring")]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_opens_cleanly(stack: Stack, page: Any, theme: str) -> None:
    page.add_init_script(f"localStorage.setItem('headwater.theme', '{theme}')")
    for name, path, heading in PAGES:
        page.goto(path)
        if heading:
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_role("link", name=name.title(), exact=True)).to_have_attribute(
            "aria-current", "page")
        # loaded: no spinner or skeleton left (the live charts may still be sampling)
        expect(page.locator("main .skeleton")).to_have_count(0, timeout=15_000)
        if name != "monitoring":
            expect(page.locator("main .spinner")).to_have_count(0, timeout=15_000)
        assert page.evaluate("document.documentElement.dataset.theme") == theme
        shot(page, f"page-{name}-{theme}")


def test_a_template_asks_before_it_replaces_a_draft(stack: Stack, page: Any) -> None:
    page.add_init_script("""localStorage.setItem('headwater.designer.draft', JSON.stringify(
        {kind: 'workflow', id: 'mine', name: 'My draft', steps: [{id: 'a', action: 'log'}]}))""")
    page.goto("/ui/templates")
    page.get_by_label("Search templates").fill("hello")
    card = page.get_by_role("article", name="Hello", exact=True)

    def use() -> None:
        card.get_by_role("button", name="Use template").click()
        page.get_by_role("dialog").get_by_role("button", name="Open in the designer").click()

    use()
    dialog = page.get_by_role("dialog", name="Replace your draft?")
    expect(dialog).to_contain_text("My draft")
    dialog.get_by_role("button", name="Keep as is").click()
    assert "My draft" in page.evaluate("localStorage.getItem('headwater.designer.draft')")
    use()
    page.get_by_role("dialog").get_by_role("button", name="Replace draft").click()
    expect(page).to_have_url(f"{stack.url}/ui/designer")
    assert '"id":"hello"' in page.evaluate("localStorage.getItem('headwater.designer.draft')")


def test_the_api_docs_render_offline(stack: Stack, page: Any) -> None:
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(stack.url) else outside.append(r.url))
    page.goto("/docs")
    expect(page.get_by_text("/executions/{execution_id}/cancel").first).to_be_visible()
    assert outside == []
    shot(page, "page-docs")
