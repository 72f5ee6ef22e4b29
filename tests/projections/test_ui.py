"""The web UI: the API serves it, every API call its JavaScript makes exists in the OpenAPI
document, its bundled templates are the examples, and its pure JS parts pass ``node --test``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from projections import create_api
from projections.api import UI_DIR
from projections.store import MemoryStore
from schemas.validation import load_definition

ROOT = Path(__file__).resolve().parents[2]
JS_FILES = sorted((UI_DIR / "js").rglob("*.js"))
# call("GET", "/executions/${seg(id)}", …) and stream(`/events`, …): the UI's only doors to the API.
CALL = re.compile(r"""\bcall\(\s*"(GET|POST)",\s*[`"'](/[^`"']*)[`"']""")
STREAM = re.compile(r"""\bstream\(\s*[`"'](/[^`"']*)[`"']""")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    api = create_api("127.0.0.1:1", {"executions": "hw.executions"}, store=MemoryStore(),
                     project=False)
    with TestClient(api) as client:
        yield client


def test_root_redirects_to_the_ui(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/ui/"
    page = client.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="js/app.js">' in page.text


@pytest.mark.parametrize(("path", "content_type"), [
    ("/ui/app.css", "text/css"),
    ("/ui/js/app.js", "javascript"),
    ("/ui/js/pages/designer.js", "javascript"),
    ("/ui/templates.json", "application/json"),
])
def test_assets_are_served_with_their_content_type(client: TestClient, path: str,
                                                   content_type: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert content_type in response.headers["content-type"]


def test_ui_files_are_counted_under_their_own_route(client: TestClient) -> None:
    client.get("/ui/app.css")
    metrics = client.get("/metrics").text
    assert 'route="/ui",status="200"' in metrics


def test_every_module_the_ui_imports_is_served(client: TestClient) -> None:
    imports = re.compile(r"""^import .* from "(\.[^"]+)";$""", re.M)
    for module in JS_FILES:
        for target in imports.findall(module.read_text()):
            resolved = (module.parent / target).resolve()
            assert resolved.is_file(), f"{module.name} imports missing {target}"
            url = "/ui/" + resolved.relative_to(UI_DIR).as_posix()
            assert client.get(url).status_code == 200, url


def _api_calls() -> set[tuple[str, str]]:
    calls: set[tuple[str, str]] = set()
    for module in JS_FILES:
        text = module.read_text()
        if module.name != "api.js":  # where call and stream are defined
            uses = len(re.findall(r"\b(?:call|stream)\(", text))
            literal = len(CALL.findall(text)) + len(STREAM.findall(text))
            assert uses == literal, f"{module.name}: an API path that is not a literal"
        calls |= {(method, path) for method, path in CALL.findall(text)}
        calls |= {("GET", path) for path in STREAM.findall(text)}
    return calls


def _matches(template: str, path: str) -> bool:
    want, got = template.strip("/").split("/"), path.strip("/").split("/")
    return len(want) == len(got) and all(
        w == g or (w.startswith("{") and g.startswith("${")) for w, g in zip(want, got, strict=True))


def test_every_api_path_the_ui_calls_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    calls = _api_calls()
    assert len(calls) >= 15, calls  # the parser still finds the calls
    missing = [(method, path) for method, path in sorted(calls)
               if not any(_matches(template, path) and method.lower() in operations
                          for template, operations in paths.items())]
    assert missing == []


def test_the_ui_reaches_the_api_and_the_page_only_through_safe_doors() -> None:
    for module in JS_FILES:
        text = module.read_text()
        for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write",
                       "EventSource(", "eval(", "new Function"):
            if module.name != "dom.js":  # dom.js names innerHTML only to refuse it
                assert banned not in text, f"{module.name} uses {banned}"
        if module.name != "api.js":
            assert "fetch(" not in text, f"{module.name} calls fetch outside api.js"


def _templates() -> list[dict[str, object]]:
    out = []
    for path in sorted((ROOT / "examples" / "workflows").glob("*.yaml")):
        definition = load_definition(path)
        body = definition.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        out.append({"file": f"examples/workflows/{path.name}",
                    "definition": {"kind": "workflow", **body}})
    return out


def test_bundled_templates_are_the_example_workflows() -> None:
    """``HEADWATER_REGEN_TEMPLATES=1`` rewrites templates.json after an example changes."""
    bundled = UI_DIR / "templates.json"
    expected = _templates()
    if os.environ.get("HEADWATER_REGEN_TEMPLATES") == "1":
        bundled.write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    assert json.loads(bundled.read_text()) == expected


def test_javascript_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    files = sorted(str(p) for p in (ROOT / "tests" / "ui").glob("*.test.mjs"))
    assert files, "no JS tests found"
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"^# fail 0$", result.stdout, re.M), result.stdout[-2000:]


def _place_with_node(definition: dict[str, object], errors: list[dict[str, str]]) -> object:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (f"import {{placeErrors}} from {json.dumps((UI_DIR / 'js' / 'placement.js').as_uri())};"
              "import {readFileSync} from 'node:fs';"
              "const [d, e] = JSON.parse(readFileSync(0, 'utf8'));"
              "process.stdout.write(JSON.stringify(placeErrors(d, e)));")
    result = subprocess.run([node, "--input-type=module", "-e", script], input=json.dumps(
        [definition, errors]), capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def _wait_step(duration: int | None) -> dict[str, object]:
    return {"id": "body", "type": "wait", **({"duration": duration} if duration else {})}


@pytest.mark.parametrize("broken", ["schema", "meaning"])
def test_the_designer_puts_the_servers_422_problems_on_the_steps_they_name(
        client: TestClient, broken: str) -> None:
    """Schema errors and cross-reference errors (two passes of validation) both land."""
    timeout = -1 if broken == "schema" else 5
    definition = {"kind": "workflow", "id": "bad", "name": "Bad", "steps": [
        {"id": "route", "type": "condition",
         "branches": [{"when": "input.x > 1", "next": "nowhere"}]},
        {"id": "fan", "type": "parallel", "branches": [{"name": "a", "steps": [
            {"id": "fetch", "type": "action", "action": "http", "with": {"url": "x"},
             "timeout": timeout}]}]},
        {"id": "each", "type": "loop", "for_each": "input.xs",
         "steps": [_wait_step(None if broken == "schema" else 5)]},
    ]}
    response = client.post("/definitions", json=definition)
    assert response.status_code == 422
    placed = _place_with_node(definition, response.json()["errors"])
    assert isinstance(placed, dict)
    where = {step: sorted((p["field"], p["code"]) for p in problems)
             for step, problems in placed["steps"].items()}
    if broken == "schema":
        assert where == {"fetch": [("timeout", "out_of_range")], "body": [("", "invalid_wait")]}
    else:
        assert where == {"route": [("branches[0].next", "unknown_step")]}
    assert placed["workflow"] == []
