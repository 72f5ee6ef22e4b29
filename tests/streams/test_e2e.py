"""End to end on a real broker: definitions published, a start command sent, the execution
completes on `hw.executions` with gap-free sequence numbers; HTTP steps reach a local server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from schemas.tasks import idempotency_key
from schemas.validation import load_definition
from tests.streams.kit import NOW, Client, finished, history, read_until, running_engine

pytestmark = pytest.mark.kafka

EXAMPLES = Path(__file__).parents[2] / "examples" / "workflows"


@pytest.fixture
async def web_server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server that records requests and answers with an order id."""
    seen: list[dict[str, Any]] = []

    async def orders(request: web.Request) -> web.Response:
        seen.append({"key": request.headers.get("Idempotency-Key"), "body": await request.json()})
        return web.json_response({"id": "ord-7", "echo": seen[-1]["body"]}, status=201)

    async def unavailable(request: web.Request) -> web.Response:
        seen.append({"key": request.headers.get("Idempotency-Key"), "path": request.path})
        return web.json_response({"error": "try later"}, status=503)

    app = web.Application()
    app.router.add_post("/orders", orders)
    app.router.add_post("/unavailable", unavailable)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen
    await runner.cleanup()


def three_steps(base_url: str) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({
        "id": "place-order", "name": "Place an order", "version": "1.2.0",
        "steps": [
            {"id": "price", "action": "transform",
             "with": {"total": "${ input.qty * 5 }", "sku": "${ input.sku }"}},
            {"id": "order", "action": "http",
             "with": {"url": f"{base_url}/orders", "body": "${ steps.price.output }"}},
            {"id": "note", "action": "log",
             "with": {"message": "order ${ steps.order.output.body.id } placed"}},
        ],
        "outputs": {"order": "${ steps.order.output.body.id }",
                    "total": "${ steps.price.output.total }"},
    })


def start(execution_id: str, workflow_id: str, data: dict[str, Any]) -> StartExecution:
    return StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                          time=NOW, workflow_id=workflow_id, input=data)


def assert_gap_free(events: list[Any]) -> None:
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_hello_and_a_three_step_workflow_with_http_run_to_completion(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
    web_server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, requests = web_server
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",)
    ):
        hello = load_definition(EXAMPLES / "hello.yaml")
        assert isinstance(hello, WorkflowDefinition)
        await client.publish(hello)
        await client.publish(three_steps(base_url))
        await client.send("commands", "ex-hello", start("ex-hello", "hello", {"name": "Ada"}))
        await client.send("commands", "ex-order",
                          start("ex-order", "place-order", {"qty": 3, "sku": "A1"}))
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  finished({"ex-hello", "ex-order"}))

    said_hello = history(events, "ex-hello")
    assert_gap_free(said_hello)
    assert said_hello[-1].type == "execution_completed"
    order = history(events, "ex-order")
    assert_gap_free(order)
    assert order[0].workflow_version == "1.2.0"
    assert order[-1].type == "execution_completed"
    assert order[-1].output == {"order": "ord-7", "total": 15}
    assert [r["body"] for r in requests] == [{"total": 15, "sku": "A1"}]
    assert requests[0]["key"] == idempotency_key("ex-order", "", "order")  # one per step


async def test_a_failing_step_retries_with_backoff_then_takes_its_error_path_and_a_wait_fires_once(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
    web_server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, requests = web_server
    flaky = WorkflowDefinition.model_validate({
        "id": "flaky", "name": "Flaky",
        "steps": [
            {"id": "call", "action": "http", "with": {"url": f"{base_url}/unavailable", "body": {}},
             "retry": {"max_attempts": 3, "backoff": "fixed", "initial_interval": 0.2},
             "on_error": {"action": "goto", "goto": "pause"}},
            {"id": "never", "action": "log", "with": {"message": "not reached"}, "next": "$end"},
            {"id": "pause", "type": "wait", "duration": 0.5},
            {"id": "fallback", "action": "log", "with": {"message": "fell back"}},
        ],
    })
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",)
    ):
        await client.publish(flaky)
        await client.send("commands", "ex-flaky", start("ex-flaky", "flaky", {}))
        events = history(await read_until(kafka_bootstrap, hw_topics["executions"],
                                          client.codec, finished({"ex-flaky"})), "ex-flaky")

    assert_gap_free(events)
    kinds = [(e.type, getattr(e, "step_id", None)) for e in events]
    assert kinds.count(("retry_scheduled", "call")) == 2
    assert kinds.count(("task_requested", "call")) == 3
    failed = [e for e in events if e.type == "step_failed"]
    assert [f.error.code for f in failed] == ["http_503"]
    assert len(requests) == 3 and len({r["key"] for r in requests}) == 1  # kept across retries
    assert [e.step_id for e in events if e.type == "step_completed"] == ["pause", "fallback"]
    assert sum(e.type == "timer_fired" for e in events) == 3  # two retries and the wait
    assert events[-1].type == "execution_completed"
