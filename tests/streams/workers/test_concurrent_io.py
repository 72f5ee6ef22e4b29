"""The built-in task worker on a real broker with a local HTTP server: a slow HTTP step holds no
other execution (I/O tasks run concurrently, commits stay in offset order), and an answer larger
than `hw.commands` takes fails its step with `output_too_large` (its error path applies) after
one request, never sent again because the answer could not be produced."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from tests.streams.kit import NOW, Client, finished, history, read_until, running_engine
from tests.support import serving

pytestmark = pytest.mark.kafka

SLOW_S = 10.0


def call(workflow_id: str, url: str, **step: Any) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({
        "id": workflow_id, "name": workflow_id,
        "steps": [{"id": "call", "action": "http", "with": {"url": url, "timeout": 60}, **step},
                  {"id": "done", "action": "log", "with": {"message": "done"}}],
    })


def start(execution_id: str, workflow_id: str) -> StartExecution:
    return StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                          time=NOW, workflow_id=workflow_id, input={})


async def test_a_ten_second_http_step_delays_no_other_execution(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    seen: list[str] = []
    slow_answered = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        seen.append("slow")
        await asyncio.sleep(SLOW_S)
        slow_answered.set()
        return web.json_response({"slow": True})

    async def fast(request: web.Request) -> web.Response:
        seen.append("fast")
        return web.json_response({"fast": True})

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/fast", fast)
    async with serving(app) as base, Client(kafka_bootstrap, hw_topics) as client, \
            running_engine(kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",)):
        await client.publish(call("slow-call", f"{base}/slow"))
        await client.publish(call("fast-call", f"{base}/fast"))
        # Given a slow call under way
        await client.send("commands", "ex-slow", start("ex-slow", "slow-call"))
        while "slow" not in seen:
            await asyncio.sleep(0.02)
        # When other executions start behind it
        started = time.monotonic()
        fast_ids = {f"ex-fast-{n}" for n in range(5)}
        for eid in sorted(fast_ids):
            await client.send("commands", eid, start(eid, "fast-call"))
        await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                         finished(fast_ids), timeout_s=SLOW_S * 3)
        # Then they all finished while the slow call was still waiting for its answer
        assert not slow_answered.is_set(), "the fast executions waited for the slow call"
        fast_took = time.monotonic() - started
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  finished(fast_ids | {"ex-slow"}), timeout_s=SLOW_S * 3)

    print(f"5 executions behind a {SLOW_S:g} s HTTP call finished in {fast_took:.2f} s")
    assert history(events, "ex-slow")[-1].type == "execution_completed"
    assert all(history(events, eid)[-1].type == "execution_completed" for eid in fast_ids)
    assert seen.count("slow") == 1 and seen.count("fast") == 5  # each request sent once


async def test_an_oversize_http_answer_fails_its_step_once_and_its_error_path_runs(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    requests: list[str | None] = []

    async def huge(request: web.Request) -> web.Response:
        requests.append(request.headers.get("Idempotency-Key"))
        return web.json_response({"blob": "x" * 2_000_000})

    app = web.Application()
    app.router.add_get("/huge", huge)
    async with serving(app) as base, Client(kafka_bootstrap, hw_topics) as client, \
            running_engine(kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",)):
        await client.publish(WorkflowDefinition.model_validate({
            "id": "huge-call", "name": "Huge answer",
            "steps": [{"id": "call", "action": "http",
                       "with": {"url": f"{base}/huge", "timeout": 30},
                       "retry": {"max_attempts": 3, "backoff": "fixed", "initial_interval": 0.1},
                       "on_error": {"action": "goto", "goto": "fallback"}},
                      {"id": "never", "action": "log", "with": {"message": "no"}, "next": "$end"},
                      {"id": "fallback", "action": "log", "with": {"message": "too large"}}],
        }))
        await client.send("commands", "ex-huge", start("ex-huge", "huge-call"))
        events = history(await read_until(kafka_bootstrap, hw_topics["executions"],
                                          client.codec, finished({"ex-huge"})), "ex-huge")
        await asyncio.sleep(1.0)  # a request sent again would come now

    failed = [e for e in events if e.type == "step_failed"]
    assert [f.error.code for f in failed] == ["output_too_large"]
    assert failed[0].error.details["limit"] < failed[0].error.details["size"]
    assert "bytes" in failed[0].error.message
    assert [e.step_id for e in events if e.type == "step_completed"] == ["fallback"]
    assert events[-1].type == "execution_completed"
    assert len(requests) == 1, "the HTTP request was sent again"
