"""Schemathesis against /openapi.json: no 5xx, and every response fits its declared schema.

The API runs in a process of its own (``tests.projections.fuzz_server``: why, in its
docstring) over views with a few executions and definitions, writing to the real broker.
Bounded: a few examples per operation (``HEADWATER_FUZZ_EXAMPLES``, default 10), well under a
minute.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import free_ports

pytestmark = [pytest.mark.kafka,
              # schemathesis' own strategies use `random`; not ours to fix
              pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")]

EXAMPLES = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "10"))
ENDLESS = {("GET", "/events")}  # a live stream never ends; it is tested in test_live.py
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served_url(kafka_bootstrap: str, hw_topics: dict[str, str]) -> Iterator[str]:
    port = free_ports(1)
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.projections.fuzz_server", kafka_bootstrap,
         orjson.dumps(hw_topics).decode(), str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded machine imports slowly
        while True:
            assert server.poll() is None, f"the API process exited with {server.returncode}"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API process did not answer in 60 s"
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_no_server_errors_and_responses_fit_the_schema(served_url: str) -> None:
    # CPython 3.11.7's AST builder keeps its recursion depth in global state (gh-106905): when
    # a garbage collection runs inside it and a finalizer formats a traceback (3.11's
    # tracebacks parse the source line to place their carets) - as an earlier test's
    # abandoned asyncio task logging "exception never retrieved" does - the outer parse fails
    # with "AST constructor recursion depth mismatch". Schemathesis and hypothesis parse a lot,
    # so the garbage is collected first and no collection runs while they do.
    gc.collect()
    gc.disable()
    try:
        _fuzz(served_url)
    finally:
        gc.enable()


def _fuzz(served_url: str) -> None:
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
