"""The designer in a real browser against the real stack (broker, engine, API with its
projector): build a workflow with a condition and a parallel block by drag and drop, see a
validation problem appear on a node while typing and fix it, publish, run it, and watch it
complete on the graph. Screenshots land in tests/ui/artifacts/.

Skips only where no Chromium exists (CI installs it); the UI must be built (`make setup`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from projections import create_api
from projections.api import UI_DIR
from tests.projections.apikit import served
from tests.streams.kit import running_engine

CHROMIUM = os.environ.get("HEADWATER_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no Chromium at {CHROMIUM}"),
    pytest.mark.skipif(not (UI_DIR / "index.html").exists(), reason="the UI is not built (make setup)"),
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        await instance.close()


async def _drop(page: Any, palette: str, target: str, dx: float = 0.5, dy: float = 0.5) -> None:
    """Drag a palette entry onto `target` (an element of the canvas) at a fraction of its box."""
    box = await page.locator(target).first.bounding_box()
    await page.drag_and_drop(f'[data-palette="{palette}"]', target, force=True,
                             target_position={"x": box["width"] * dx, "y": box["height"] * dy})


async def _connect(page: Any, source: str, handle: str, target: str) -> None:
    """Drag from a node's source handle to another node's input handle (all in view first)."""
    await page.locator(".react-flow__controls-fitview").click()
    await page.wait_for_timeout(300)
    start = await page.locator(f'.react-flow__node[data-id="{source}"] [data-handleid="{handle}"]').bounding_box()
    end = await page.locator(f'.react-flow__node[data-id="{target}"] [data-handleid="in"]').bounding_box()
    await page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(end["x"] + 2, end["y"] + 2, steps=12)
    await page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=4)
    await page.mouse.up()


async def _problems_on(page: Any, step: str) -> int:
    badge = page.locator(f'.react-flow__node[data-id="{step}"] [data-testid="node-problems"]')
    return 0 if await badge.count() == 0 else int((await badge.inner_text()).split()[0])


async def test_build_validate_publish_and_run_a_workflow_in_the_designer(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    api = create_api(kafka_bootstrap, hw_topics)
    errors: list[str] = []
    async with running_engine(kafka_bootstrap, hw_topics, tmp_path), served(api) as url:
        page = await browser.new_page(viewport={"width": 1600, "height": 1000})
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        await page.goto(f"{url}/ui/designer")
        await page.wait_for_selector('.react-flow__node[data-id="start"]')

        # A condition dropped under the first step arrives unconnected: the validator says so
        # on its node, and drawing the edge from `start` fixes it.
        await _drop(page, "condition", '[data-testid="canvas"] .react-flow__pane', 0.3, 0.55)
        await page.wait_for_selector('.react-flow__node[data-id="condition"]')
        await page.wait_for_function(
            """() => document.querySelector('.react-flow__node[data-id="condition"] [data-testid="node-problems"]')""")
        await _connect(page, "start", "next", "condition")
        await page.wait_for_function(
            """() => !document.querySelector('.react-flow__node[data-id="condition"] [data-testid="node-problems"]')""")

        # A parallel block with a step dropped into each lane, reached from the condition's branch.
        await _drop(page, "parallel", '[data-testid="canvas"] .react-flow__pane', 0.3, 0.7)
        await page.wait_for_selector('[data-lane="parallel/1"]')
        await _drop(page, "transform", '[data-lane="parallel/0"]', 0.5, 0.6)
        await _drop(page, "log", '[data-lane="parallel/1"]', 0.5, 0.6)
        await page.wait_for_selector('.react-flow__node[data-id="transform"]')
        await page.wait_for_selector('.react-flow__node[data-id="log"]')
        await page.get_by_role("button", name="Auto-layout").click()
        await page.wait_for_timeout(500)
        await _connect(page, "condition", "branch-0", "parallel")
        await page.wait_for_function(
            """() => !document.querySelector('.react-flow__node[data-id="parallel"] [data-testid="node-problems"]')""")
        # A connection the validator would refuse is not drawn, and the canvas says why.
        await _connect(page, "transform", "next", "log")
        hint = await page.locator('[data-testid="connect-hint"]').inner_text()
        assert "outside this parallel branch" in hint
        await page.screenshot(path=str(ARTIFACTS / "designer-built.png"))

        # Typing a broken condition puts a problem on the node; fixing it takes it away.
        await page.locator('.react-flow__node[data-id="condition"]').click()
        when = page.locator('.properties input[id$="branches_0_when"]')
        await when.fill("size(input) >")
        await page.wait_for_selector('[data-testid="expression-problem"]')
        await page.wait_for_function(
            """() => document.querySelector('.react-flow__node[data-id="condition"] [data-testid="node-problems"]')""")
        await page.screenshot(path=str(ARTIFACTS / "designer-problem.png"))
        await when.fill("size(input) >= 0")
        await page.wait_for_function(
            """() => !document.querySelector('.react-flow__node[data-id="condition"] [data-testid="node-problems"]')
                     && document.querySelector('[data-testid="problem-count"]').textContent === '0'""")

        # A test run first (no side effects), then publish and a real run, followed live.
        await page.get_by_role("tab", name="Test run").click()
        await page.get_by_test_id("run-test").click()
        await page.wait_for_selector('[data-testid="test-result"]')
        assert "completed" in await page.get_by_test_id("test-result").inner_text()
        await page.get_by_role("button", name="Publish", exact=True).click()
        await page.wait_for_selector('[data-testid="run-live"]')
        await page.get_by_test_id("run-live").click()
        await page.wait_for_function(
            """() => ['start', 'condition', 'parallel', 'transform', 'log'].every((id) =>
                 document.querySelector(`.react-flow__node[data-id="${id}"] [data-status]`)
                   ?.getAttribute('data-status') === 'completed')""", timeout=45_000)
        await page.screenshot(path=str(ARTIFACTS / "designer-run-completed.png"))
        await page.close()
    assert not [e for e in errors if "Failed to load resource" not in e], errors
