"""Schemathesis against /openapi.json: no 5xx, and every response fits its declared schema.

The API is served by uvicorn (its own thread and loop) over views with a few executions and
definitions, writing to the real broker. Bounded: a few examples per operation
(``HEADWATER_FUZZ_EXAMPLES``, default 10), well under a minute.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pkgutil
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import schemathesis.specs.openapi.schemas  # imported early: see the comment below
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.projections.apikit import make_api, owned
from tests.projections.histories import Execution, matched
from tests.support import free_ports

# schemathesis imports parts of itself lazily (its OpenAPI support, its auth providers…), and
# pytest compiles them (it rewrites plugin modules); compiling while uvicorn's thread also
# compiles trips CPython 3.11's AST recursion counter, which threads share. So every
# schemathesis module is imported here, before any thread starts.
for _module in pkgutil.walk_packages(schemathesis.__path__, "schemathesis."):
    with contextlib.suppress(Exception):
        importlib.import_module(_module.name)

pytestmark = [pytest.mark.kafka,
              # schemathesis' own strategies use `random`; not ours to fix
              pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")]

EXAMPLES = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "10"))
ENDLESS = {("GET", "/events")}  # a live stream never ends; it is tested in test_live.py


@pytest.fixture
def served_url(kafka_bootstrap: str, hw_topics: dict[str, str]) -> Iterator[str]:
    events = [owned("workflow", "wf"), owned("rule", "r1"), matched("r1", "e1"),
              *Execution("x1").started().step_ok("a").completed().events,
              *Execution("x2").started().step_failed("b").failed("b").events]
    api = make_api(kafka_bootstrap, hw_topics, events, project=True)
    port = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    # The server's own first-request imports happen now, not while schemathesis compiles.
    for path in ("/health", "/openapi.json", "/executions", "/definitions"):
        httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_no_server_errors_and_responses_fit_the_schema(served_url: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served_url}/openapi.json")
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance,
              content_type_conformance]
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in ENDLESS:
            continue

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=served_url, checks=checks, timeout=20)

        run()
        tested += 1
    assert tested >= 20
