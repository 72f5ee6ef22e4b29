"""The UI in a real browser (headless Chromium driven by Playwright) against a real API.

Skipped where Playwright or a Chromium is missing: Playwright's own browser download needs the
network, so the test uses the system's Chromium (Debian package ``chromium``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from projections.access import Principal
from projections.auth import TokenTable
from schemas.executions import ExecutionStarted
from tests.projections.apikit import make_api
from tests.projections.histories import Execution, published
from tests.support import free_ports

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (apt install chromium)")

ATTACK = "<img src=x onerror=window.pwned=1>"
# What the machine's notes say a headless Chromium needs where the network is closed.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _events() -> list[BaseModel]:
    events: list[BaseModel] = [published("workflow", "wf"), published("workflow", "other")]
    ok = Execution("run-ok").add(ExecutionStarted, workflow_id="wf", workflow_version="1.0.0",
                                 trigger_type="manual", input={"note": ATTACK})
    events += ok.step_ok("a").completed().events
    events += Execution("run-failed").started().step_failed("b").failed("b").events
    return events


@contextmanager
def _serve(api: FastAPI) -> Iterator[str]:
    import uvicorn

    port = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
        if thread.is_alive():  # an event stream still open holds a graceful stop
            server.force_exit = True
            thread.join(10)


@pytest.fixture
def page(kafka_bootstrap: str, hw_topics: dict[str, str]) -> Iterator[Any]:
    tokens = TokenTable({"t-admin": Principal(subject="root", role="admin")})
    api = make_api(kafka_bootstrap, hw_topics, _events(), tokens=tokens)
    with _serve(api) as url, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
        uncaught: list[str] = []
        page.on("pageerror", lambda error: uncaught.append(str(error)))
        page.goto(f"{url}/")
        yield page
        browser.close()
        assert uncaught == [], "the page raised"


def _login(page: Any) -> None:
    page.get_by_label("API token").fill("t-admin")
    page.get_by_role("button", name="Save").click()


def test_token_dashboard_and_executions(page: Any) -> None:
    """Without the token the API says 401; with it the dashboard and the lists fill in."""
    expect = sync_api.expect
    expect(page.locator("main")).to_contain_text("enter your API token above")
    _login(page)
    expect(page.locator(".card").first).to_contain_text("Executions today")
    page.get_by_role("link", name="Executions", exact=True).click()
    expect(page.locator("tbody tr")).to_have_count(2)
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("link", name="run-failed").click()
    expect(page.get_by_role("heading", name="Execution run-failed")).to_be_visible()
    page.get_by_role("button", name="Retry from the failed step").click()
    expect(page.locator("#notice")).to_contain_text("Retry: sent")


def test_data_is_shown_as_text_never_as_markup(page: Any) -> None:
    _login(page)
    page.goto(page.url.split("#")[0] + "#/executions/run-ok")
    expect = sync_api.expect
    expect(page.locator("main")).to_contain_text(ATTACK)
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_designer_places_problems_and_publishes(page: Any) -> None:
    expect = sync_api.expect
    _login(page)
    page.get_by_role("link", name="Templates").click()
    examples = len(list((Path(__file__).parents[2] / "examples" / "workflows").glob("*.yaml")))
    expect(page.locator("article")).to_have_count(examples)
    page.locator("article", has_text="expense-approval").get_by_role(
        "button", name="Open in designer").click()
    expect(page.locator("svg.canvas [data-step]")).to_have_count(6)
    page.get_by_label("Workflow id").fill("ui-test-flow")
    page.locator("form.workflow-form").get_by_role("button", name="Apply").click()
    # Break a branch through the step form: the server's 422 lands on that step and field.
    page.locator('[data-step="decide"]').click()
    page.get_by_label("Branch 1 when").fill("vars.approved ==")
    page.get_by_role("button", name="Apply changes").click()
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator('[data-step="decide"].invalid')).to_be_visible()
    expect(page.locator(".step-form .field-errors")).to_contain_text("branches[0].when")
    # Add a step and connect it, then publish for real.
    page.get_by_label("Step type").select_option("wait")
    page.get_by_role("button", name="Add step").click()
    expect(page.locator('[data-step="wait"]')).to_be_visible()
    page.locator('[data-step="decide"]').click()
    page.get_by_label("Branch 1 when").fill("vars.approved")
    page.get_by_role("button", name="Apply changes").click()
    page.get_by_label("As", exact=True).select_option("branch")
    page.get_by_label("When (CEL, for a branch)").fill("vars.approved == null")
    page.get_by_role("button", name="Pick the target on the canvas").click()
    page.locator('[data-step="wait"]').click()
    expect(page.locator(".edge-branch")).to_have_count(4)
    # The form way, and the Delete key on a focused node.
    page.get_by_label("To step").select_option("approve")
    page.get_by_label("As", exact=True).select_option("error")
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.locator(".edge-error")).to_have_count(2)
    page.get_by_label("Step type").select_option("subprocess")
    page.get_by_role("button", name="Add step").click()
    page.locator('[data-step="subprocess"]').focus()
    page.keyboard.press("Delete")
    expect(page.locator('[data-step="subprocess"]')).to_have_count(0)
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator("#notice")).to_contain_text("Published ui-test-flow")
    assert page.locator("svg.canvas .invalid").count() == 0
