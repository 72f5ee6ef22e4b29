"""The web UI as the API serves it: the built single-page app at ``/ui`` with a fallback to
``index.html`` for client-side routes, what the UI takes from the Python side is current
(OpenAPI types, definition schemas), and the app's own unit tests (vitest) pass."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import projections.api
from projections import create_api
from projections.store import MemoryStore
from schemas.validation import definition_json_schema

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
GENERATED = UI / "src" / "api" / "generated"


def _client(ui_dir: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(projections.api, "UI_DIR", ui_dir)
    return TestClient(create_api("127.0.0.1:1", {"executions": "hw.executions"},
                                 store=MemoryStore(), project=False))


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An API over a stand-in build: an index and one hashed asset, as Vite writes them."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><div id="root"></div>'
                                         '<script type="module" src="/ui/assets/index-abc.js">'
                                         "</script>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    with _client(tmp_path, monkeypatch) as client:
        yield client


def test_root_redirects_to_the_ui(built: TestClient) -> None:
    response = built.get("/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/ui/"
    page = built.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="root"' in page.text


def test_a_client_side_route_gets_the_app_and_a_missing_asset_stays_missing(
        built: TestClient) -> None:
    """A reload on /ui/executions/x must open the app (its router shows the page), while a
    mistyped asset must not answer HTML with 200 (the browser would run it as a script)."""
    for route in ("/ui/executions/run-1", "/ui/rules/new", "/ui/designer"):
        response = built.get(route)
        assert response.status_code == 200, route
        assert 'id="root"' in response.text
        assert response.headers["cache-control"] == "no-cache"
    asset = built.get("/ui/assets/index-abc.js")
    assert "javascript" in asset.headers["content-type"]
    # hashed names: a cached chunk is used as it is, without a revalidation per chunk
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert built.get("/ui/assets/gone-123.js").status_code == 404


def test_ui_files_are_counted_under_their_own_route(built: TestClient) -> None:
    built.get("/ui/assets/index-abc.js")
    assert 'route="/ui",status="200"' in built.get("/metrics").text


def test_an_unbuilt_ui_says_how_to_build_it(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with _client(tmp_path / "nothing", monkeypatch) as client:
        response = client.get("/ui/")
        assert response.status_code == 503
        assert "make setup" in response.text
        assert client.get("/health").status_code in (200, 503)  # the API itself still runs


def test_me_names_the_caller_and_what_the_role_may_do(built: TestClient) -> None:
    """The UI offers only what ``rights`` allow; with no tokens the API is open (admin)."""
    assert built.get("/me").json() == {"subject": "anonymous", "role": "admin",
                                       "rights": ["edit", "run", "view"], "open": True}


def test_generated_schemas_are_current() -> None:
    """``make ui-api`` regenerates them after a change to the definition model."""
    for kind in ("workflow", "rule"):
        committed = json.loads((GENERATED / f"{kind}.schema.json").read_text())
        assert committed == definition_json_schema(kind), f"{kind}.schema.json: run make ui-api"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are not installed (the UI is built and tested with them)")
    if not (UI / "node_modules").is_dir():
        pytest.fail("ui/node_modules is missing: run `make setup` (npm ci)")
    return npm


def test_the_api_types_are_generated_from_the_current_openapi_document(tmp_path: Path) -> None:
    """schema.d.ts must follow the API, or the UI's typed calls check against a stale API."""
    npm = _npm()
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(create_api("127.0.0.1:1", _topics(), project=False).openapi()))
    out = tmp_path / "schema.d.ts"
    subprocess.run([npm, "exec", "--no", "--", "openapi-typescript", str(document), "-o", str(out)],
                   cwd=UI, check=True, capture_output=True, timeout=120)
    assert out.read_text() == (UI / "src" / "api" / "schema.d.ts").read_text(), \
        "ui/src/api/schema.d.ts is stale: run make ui-api"


def _topics() -> dict[str, str]:
    from infra.topics import topic_names

    return topic_names("hw.")


def test_the_app_typechecks_and_its_unit_tests_pass() -> None:
    """tsc checks every typed API call against schema.d.ts; vitest runs the app's tests."""
    npm = _npm()
    for script in ("typecheck", "test"):
        result = subprocess.run([npm, "run", "--silent", script], cwd=UI, capture_output=True,
                                text=True, timeout=600, check=False)
        assert result.returncode == 0, f"npm run {script}:\n{result.stdout[-6000:]}{result.stderr[-3000:]}"


def test_the_api_docs_load_nothing_from_outside(built: TestClient) -> None:
    """/docs must work offline: every script and stylesheet it names is served by the API."""
    page = built.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assets = [u for u in urls if u.endswith((".js", ".css"))]
    assert assets and all(u.startswith("/docs/assets/") for u in assets), urls
    for url in assets:
        assert built.get(url).status_code == 200, url
    assert "swagger" in built.get("/docs/assets/swagger-ui-bundle.js").text[:5000].lower()
