"""The web UI in a real browser against the whole stack: an engine worker process and the API
(projecting the views itself) on the test broker, headless Chromium driven by Playwright.

Playwright's own browser download needs the network, so the tests drive the system Chromium
(Debian package ``chromium``) and skip only where there is none; they also skip when the UI is
not built (no node on the machine). Screenshots land in ``tests/ui/artifacts/`` (git-ignored),
kept as the tests' artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.topics import create_topics, topic_names
from projections.access import Principal
from projections.api import UI_DIR
from projections.auth import TokenTable
from tests.support import free_ports

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "ui" / "artifacts"
TOKEN = "t-ui-admin"
# What a headless Chromium needs where the network is closed.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    skip_chromium = pytest.mark.skip(reason="no system Chromium (apt install chromium)")
    skip_build = pytest.mark.skip(reason="the UI is not built (make setup needs node and npm)")
    for item in items:
        if Path(str(item.fspath)).parent != here:
            continue
        item.add_marker(pytest.mark.kafka)
        if CHROMIUM is None:
            item.add_marker(skip_chromium)
        elif not (UI_DIR / "index.html").is_file():
            item.add_marker(skip_build)


@dataclass
class Stack:
    """A running worker and API; ``url`` is the API's base URL."""

    url: str
    topics: dict[str, str]
    bootstrap: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"},
                                   timeout=10)

    def publish(self, definition: dict[str, Any]) -> None:
        response = self.client.post("/definitions", json=definition)
        assert response.status_code == 201, response.text

    def until(self, what: str, check: Any, timeout_s: float = 60) -> Any:
        """Poll ``check()`` until it returns something truthy."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.3)
        raise AssertionError(f"timed out waiting for {what}")

    def active(self, kind: str, definition_id: str) -> bool:
        response = self.client.get(f"/{'workflows' if kind == 'workflow' else 'rules'}/{definition_id}")
        return response.status_code == 200 and bool(response.json().get("active"))

    def execution(self, execution_id: str) -> dict[str, Any] | None:
        response = self.client.get(f"/executions/{execution_id}")
        return response.json() if response.status_code == 200 else None


def _serve_api(bootstrap: str, topics: dict[str, str], data_dir: Path) -> tuple[str, Any, Any]:
    import uvicorn

    from projections import create_api

    tokens = TokenTable({TOKEN: Principal(subject="ui-tester", role="admin")})
    api = create_api(bootstrap, topics, tokens=tokens, templates_dir=ROOT / "examples")
    port = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture(scope="package")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    create_topics(kafka_bootstrap, prefix, partitions=6)
    topics = topic_names(prefix)
    data = tmp_path_factory.mktemp("ui-stack")
    env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "HEADWATER_TOPIC_PREFIX": prefix, "HEADWATER_APP_ID": f"{prefix}worker",
           "HEADWATER_DATA_DIR": str(data), "HEADWATER_WORKER_WEB_PORT": str(free_ports(1)),
           "HEADWATER_LOG_LEVEL": "warning", "HEADWATER_TOPIC_PARTITIONS": "6",
           # the failing workflow calls a closed local port: refused, not blocked by the guard
           "HEADWATER_HTTP_ALLOW": '["127.0.0.1"]'}
    log = (data / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "headwater", "worker"], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    url, server, thread = _serve_api(kafka_bootstrap, topics, data)
    try:
        yield Stack(url, topics, kafka_bootstrap)
    finally:
        server.should_exit = True
        server.force_exit = True  # open event streams would hold a graceful stop
        thread.join(10)
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, stack: Stack, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page with the API token stored (as the token dialog stores it); fails the test on any
    console error or uncaught exception the app produced."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=stack.url)
    context.add_init_script(f"localStorage.setItem('headwater.token', {json.dumps(TOKEN)})")
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    # Chromium logs every HTTP error answer as "Failed to load resource"; the pages show those
    # (a just-started execution is a 404 for a moment): only the app's own errors count.
    page.on("console", lambda m: m.type == "error" and not m.text.startswith(
        "Failed to load resource") and problems.append(f"console: {m.text}"))
    yield page
    shot(page, f"last-{request.node.name}")  # what the page showed at the end, pass or fail
    context.close()
    # An expected HTTP error shows in the page; a console error means the app misbehaved.
    assert problems == [], f"{request.node.name}: the page reported errors"


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
