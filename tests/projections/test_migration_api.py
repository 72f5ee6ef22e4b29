"""Migrating waiting executions on the broker: a dry run that says per execution what would
happen and why not, then the migration, then the executions finish on the new version."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from headwater.cli import app
from projections import create_api
from schemas.definitions import WorkflowDefinition
from tests.projections.apikit import served
from tests.projections.test_queued_actions import summary_until
from tests.streams.kit import Client, running_engine

pytestmark = pytest.mark.kafka


def _version(number: str, steps: list[dict[str, Any]]) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({
        "id": "approvals", "name": "Approvals", "version": number, "steps": steps})


V1 = _version("1.0.0", [
    {"id": "hold", "type": "wait", "signal": "go"},
    {"id": "done", "type": "action", "action": "transform", "with": {"v": 1}}])
V2 = _version("2.0.0", [
    {"id": "held", "type": "wait", "signal": "go", "output": {"by": "${ signal.by }"}},
    {"id": "stamp", "type": "action", "action": "transform", "with": {"who": "${ vars.by }"}}])
V3 = _version("3.0.0", [{"id": "held", "type": "action", "action": "transform"}])


async def test_waiting_executions_migrate_after_a_dry_run_and_finish_on_the_new_version(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    api = create_api(kafka_bootstrap, hw_topics)
    async with running_engine(kafka_bootstrap, hw_topics, tmp_path) as _, \
            Client(kafka_bootstrap, hw_topics) as producer, served(api) as url, \
            httpx.AsyncClient(base_url=url) as client:
        await producer.publish(V1)
        for _ in range(100):
            if (await client.get("/workflows/approvals")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        ids = []
        for n in range(3):
            started = await client.post("/workflows/approvals/executions",
                                        json={"version": "1.0.0"},
                                        headers={"Idempotency-Key": f"m{n}"})
            ids.append(started.json()["execution_id"])
        for execution_id in ids:
            await summary_until(client, execution_id, "waiting", field="status")
        await producer.publish(V2)
        await producer.publish(V3)
        for _ in range(100):
            versions = (await client.get("/definitions/workflow/approvals")).json()
            if len(versions.get("versions", {})) == 3:
                break
            await asyncio.sleep(0.1)

        # A mapping that does not fit: every execution refused, with the reason, nothing sent.
        wrong = (await client.post("/executions/migrate", json={
            "workflow_id": "approvals", "to_version": "3.0.0", "mapping": {"hold": "held"},
            "dry_run": False})).json()
        assert wrong["sent"] == 0 and wrong["refused"] == 3
        assert {p["code"] for i in wrong["items"] for p in i["problems"]} == {"step_type_changed"}
        assert all(i["problems"][0]["step"] == "hold" for i in wrong["items"])

        # The dry run by id, with one id that is no execution of this workflow.
        dry = (await client.post("/executions/migrate", json={
            "workflow_id": "approvals", "to_version": "2.0.0", "mapping": {"hold": "held"},
            "execution_ids": [*ids[:2], "nobody"]})).json()
        assert dry["dry_run"] and dry["sent"] == 0
        assert [(i["execution_id"], i["migratable"]) for i in dry["items"]] == [
            (ids[0], True), (ids[1], True), ("nobody", False)]
        assert dry["items"][2]["problems"][0]["code"] == "not_found"
        for execution_id in ids:  # a dry run changes nothing
            assert (await client.get(f"/executions/{execution_id}")).json()[
                "summary"]["workflow_version"] == "1.0.0"

        # For real, by filter, through the CLI, two to a page.
        monkeypatch.setenv("HEADWATER_API_URL", url)
        cli = await asyncio.to_thread(CliRunner().invoke, app, [
            "executions", "migrate", "approvals", "--to", "2.0.0", "--map", "hold=held",
            "--from", "1.0.0", "--yes", "--json"])
        assert cli.exit_code == 0, cli.output
        result = orjson.loads(cli.stdout)
        assert sorted(i["execution_id"] for i in result["items"] if i["sent"]) == sorted(ids)
        for execution_id in ids:
            body = await summary_until(client, execution_id, "2.0.0", field="workflow_version")
            assert body["summary"]["status"] == "waiting"
            assert "held" in body["detail"]["steps"] and "hold" not in body["detail"]["steps"]
            migrated = [e for e in body["timeline"] if e["type"] == "execution_migrated"]
            assert [(e["from_version"], e["to_version"], e["mapping"]) for e in migrated] == [
                ("1.0.0", "2.0.0", {"hold": "held"})]

        for n, execution_id in enumerate(ids):
            signal = await client.post(f"/executions/{execution_id}/signals/go",
                                       json={"payload": {"by": f"ops-{n}"}})
            assert signal.status_code == 202
        for n, execution_id in enumerate(ids):
            body = await summary_until(client, execution_id, "completed", field="status")
            steps = body["detail"]["steps"]
            assert steps["stamp"]["output"] == {"who": f"ops-{n}"}  # v2's step ran
            assert "done" not in steps
