"""Queued executions (waiting for a concurrency slot) can be cancelled and signalled, on the
broker: through the API one at a time, in bulk, and with `headwater executions signal`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from headwater.cli import app
from projections import create_api
from schemas.definitions import WorkflowDefinition
from tests.projections.apikit import served
from tests.streams.kit import Client, running_engine

pytestmark = pytest.mark.kafka

ONE_AT_A_TIME = WorkflowDefinition.model_validate({
    "id": "one-at-a-time", "name": "One at a time", "concurrency_limit": 1,
    "steps": [{"id": "hold", "type": "wait", "signal": "go"}],
})


async def summary_until(client: httpx.AsyncClient, execution_id: str, wanted: str,
                        field: str = "status") -> dict[str, Any]:
    """The execution's detail once its summary's `field` is `wanted` (30 s at most)."""
    body: dict[str, Any] = {}
    for _ in range(300):
        response = await client.get(f"/executions/{execution_id}")
        if response.status_code == 200:
            body = response.json()
            if body["summary"][field] == wanted:
                return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{execution_id}: {field} never {wanted}: {body.get('summary')}")


async def test_queued_executions_are_cancelled_and_signalled(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    api = create_api(kafka_bootstrap, hw_topics)
    async with running_engine(kafka_bootstrap, hw_topics, tmp_path) as _, \
            Client(kafka_bootstrap, hw_topics) as producer, served(api) as url, \
            httpx.AsyncClient(base_url=url) as client:
        await producer.publish(ONE_AT_A_TIME)
        for _ in range(100):
            if (await client.get("/workflows/one-at-a-time")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        ids = []
        for n in range(4):
            started = await client.post("/workflows/one-at-a-time/executions", json={},
                                        headers={"Idempotency-Key": f"k{n}"})
            assert started.status_code == 202, started.text
            ids.append(started.json()["execution_id"])
            await summary_until(client, ids[-1], "waiting" if n == 0 else "queued")
        first, cancelled, signalled, bulk = ids

        assert (await client.post(f"/executions/{cancelled}/cancel", json={})).status_code == 202
        await summary_until(client, cancelled, "cancelled")
        monkeypatch.setenv("HEADWATER_API_URL", url)
        cli = await asyncio.to_thread(CliRunner().invoke, app, [
            "executions", "signal", signalled, "go", "--payload", '{"ok": true}'])
        assert cli.exit_code == 0, cli.output
        dry = (await client.post("/executions/bulk", json={
            "action": "cancel", "workflow_id": "one-at-a-time", "dry_run": True})).json()
        assert sorted(dry["matched"]) == sorted([first, signalled, bulk])

        # The first finishes, the signalled one runs with its buffered signal and finishes too.
        assert (await client.post(f"/executions/{first}/signals/go", json={})).status_code == 202
        await summary_until(client, first, "completed")
        done = await summary_until(client, signalled, "completed")
        assert done["detail"]["steps"]["hold"]["output"] == {"ok": True}
        bulk_cancel = (await client.post("/executions/bulk", json={
            "action": "cancel", "workflow_id": "one-at-a-time", "dry_run": False})).json()
        assert bulk_cancel["matched"] in ([bulk],) and bulk_cancel["sent"] == 1
        await summary_until(client, bulk, "cancelled")
