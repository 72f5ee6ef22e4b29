"""The write endpoints on the real broker: what a client sends lands in the log, or is refused
with every problem's path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from projections.write_api import idempotent_execution_id
from schemas.commands import CancelExecution, RetryExecution, SignalReceived, StartExecution
from schemas.definition_events import DefinitionPublished, DefinitionStatusChanged
from schemas.gates import ExecutionQueued
from schemas.triggers import TriggerEvent
from tests.projections.apikit import client_of, make_api, owned, read_records
from tests.projections.histories import Execution

pytestmark = pytest.mark.kafka

HELLO = {"id": "hello", "name": "Hello", "steps": [{"id": "a", "action": "log"}]}


def _views() -> list[BaseModel]:
    return [owned("workflow", "wf"), owned("workflow", "paused", status="paused"),
            *Execution("run-1").started().events,
            *Execution("run-2").started().step_failed("b").failed("b").events,
            *Execution("run-3").started().step_failed("b").failed("b").events,
            *Execution("done-1").started().completed().events]


async def test_publish_lands_on_definitions_and_invalid_is_422_with_paths(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        ok = await client.post("/definitions", json=HELLO)
        bad = await client.post("/definitions", json={**HELLO, "retry": 5, "steps": []})
        unparsable = await client.post("/definitions", json={"kind": "gizmo"})
    assert ok.status_code == 201, ok.text
    assert ok.json()["key"] == "workflow:hello@1.0.0" and ok.json()["warnings"] == []
    assert bad.status_code == 422
    paths = {(e["path"], e["code"]) for e in bad.json()["errors"]}
    assert ("$.retry", "wrong_type") in paths and any(p == "$.steps" for p, _ in paths)
    assert unparsable.status_code == 422 and unparsable.json()["errors"]
    [record] = await read_records(kafka_bootstrap, hw_topics["definitions"], 1, topic_prefix)
    assert isinstance(record, DefinitionPublished)
    assert (record.definition_id, record.version, record.published_by) == ("hello", "1.0.0", "anonymous")
    assert record.checksum == ok.json()["checksum"]


async def test_published_version_is_immutable_and_status_changes(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        other = await client.post("/definitions", json={"id": "wf", "name": "Changed",
                                                        "steps": [{"id": "a", "action": "log"}]})
        listed = (await client.get("/definitions", params={"kind": "workflow"})).json()
        one = await client.get("/definitions/workflow/wf")
        missing = await client.get("/definitions/workflow/nope")
        paused = await client.post("/definitions/workflow/wf/versions/1.0.0/status",
                                   json={"status": "paused", "reason": "maintenance"})
        no_version = await client.post("/definitions/workflow/wf/versions/9.9.9/status",
                                       json={"status": "paused"})
        bad_status = await client.post("/definitions/workflow/wf/versions/1.0.0/status",
                                       json={"status": "exploded"})
    assert other.status_code == 409
    assert {d["definition_id"] for d in listed} == {"wf", "paused"}
    assert one.json()["latest"] == "1.0.0" and one.json()["active"] is True
    assert missing.status_code == 404 and no_version.status_code == 404
    assert bad_status.status_code == 422 and bad_status.json()["errors"][0]["path"] == "body.status"
    assert paused.status_code == 202 and paused.json()["previous_status"] == "active"
    [change] = await read_records(kafka_bootstrap, hw_topics["definitions"], 1, topic_prefix)
    assert isinstance(change, DefinitionStatusChanged)
    assert (change.status, change.previous_status, change.reason) == ("paused", "active", "maintenance")


async def test_start_with_idempotency_key_names_the_same_execution(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    headers = {"Idempotency-Key": "order-77"}
    async with client_of(api) as client:
        first = await client.post("/workflows/wf/executions", json={"input": {"n": 1}}, headers=headers)
        again = await client.post("/workflows/wf/executions", json={"input": {"n": 1}}, headers=headers)
        fresh = await client.post("/workflows/wf/executions", json={})
        unknown = await client.post("/workflows/nope/executions", json={})
        inactive = await client.post("/workflows/paused/executions", json={})
        bad_version = await client.post("/workflows/wf/executions", json={"version": "7.0.0"})
    assert first.status_code == again.status_code == fresh.status_code == 202
    assert first.json()["execution_id"] == again.json()["execution_id"] == idempotent_execution_id("wf", "order-77")
    assert fresh.json()["execution_id"] != first.json()["execution_id"]
    assert (unknown.status_code, inactive.status_code, bad_version.status_code) == (404, 409, 404)
    starts = await read_records(kafka_bootstrap, hw_topics["commands"], 3, topic_prefix)
    assert all(isinstance(s, StartExecution) and s.trigger_type == "api" for s in starts)
    keyed = [s for s in starts if s.execution_id == first.json()["execution_id"]]
    # The engine applies a command id once: the repeat carries the same one.
    assert len(keyed) == 2 and keyed[0].command_id == keyed[1].command_id
    assert {s.command_id for s in starts} == {keyed[0].command_id, fresh.json()["command_id"]}
    assert keyed[0].input == {"n": 1}


async def test_cancel_retry_signal_check_the_state_first(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        refused = [await client.post("/executions/done-1/cancel", json={}),
                   await client.post("/executions/run-1/retry"),
                   await client.post("/executions/done-1/signals/go", json={})]
        missing = await client.post("/executions/ghost/cancel", json={})
        accepted = [await client.post("/executions/run-1/cancel", json={"reason": "stop"}),
                    await client.post("/executions/run-2/retry"),
                    await client.post("/executions/run-1/signals/approve",
                                      json={"payload": {"ok": True}})]
    assert [r.status_code for r in refused] == [409, 409, 409] and missing.status_code == 404
    assert [r.status_code for r in accepted] == [202, 202, 202]
    commands = await read_records(kafka_bootstrap, hw_topics["commands"], 3, topic_prefix)
    by_type = {type(c): c for c in commands}
    assert by_type[CancelExecution].reason == "stop"
    assert by_type[RetryExecution].execution_id == "run-2"
    assert by_type[SignalReceived].name == "approve" and by_type[SignalReceived].payload == {"ok": True}


async def test_a_queued_execution_can_be_cancelled_and_signalled(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    """Queued (held by the workflow's concurrency limit) is not finished: the UI offers cancel
    and signal on it, so the API must take them, alone and in a bulk cancel."""
    queued = Execution("q-1").add(ExecutionQueued, workflow_id="wf", workflow_version="1.0.0",
                                  gate_id="gate:wf", ticket="t-1", limit=1)
    api = make_api(kafka_bootstrap, hw_topics, [*_views(), *queued.events])
    async with client_of(api) as client:
        signal = await client.post("/executions/q-1/signals/go", json={"payload": 1})
        cancel = await client.post("/executions/q-1/cancel", json={})
        bulk = (await client.post("/executions/bulk", json={"action": "cancel"})).json()
    assert (signal.status_code, cancel.status_code) == (202, 202)
    assert sorted(bulk["matched"]) == ["q-1", "run-1"]
    commands = await read_records(kafka_bootstrap, hw_topics["commands"], 2, topic_prefix)
    assert {type(c) for c in commands} == {SignalReceived, CancelExecution}


async def test_bulk_dry_run_lists_and_real_run_sends(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views())
    async with client_of(api) as client:
        dry = (await client.post("/executions/bulk", json={"action": "retry"})).json()
        capped = (await client.post("/executions/bulk", json={"action": "retry", "limit": 1})).json()
        cancel = (await client.post("/executions/bulk", json={"action": "cancel", "dry_run": False})).json()
    assert dry["dry_run"] and sorted(dry["matched"]) == ["run-2", "run-3"] and dry["sent"] == 0
    assert capped["truncated"] and len(capped["matched"]) == 1
    assert cancel["matched"] == ["run-1"] and cancel["sent"] == 1
    [command] = await read_records(kafka_bootstrap, hw_topics["commands"], 1, topic_prefix)
    assert isinstance(command, CancelExecution) and command.execution_id == "run-1"


EVENT: dict[str, Any] = {"specversion": "1.0", "id": "e-1", "source": "/shop", "type": "order.placed",
                         "subject": "order-1", "data": {"total": 10}}


async def test_triggers_in_both_modes_and_batches(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, [])
    structured = {"Content-Type": "application/cloudevents+json"}
    async with client_of(api) as client:
        one = await client.post("/triggers", content=_json(EVENT), headers=structured)
        plain = await client.post("/triggers", json={"total": 5},
                                  headers={"ce-type": "order.paid", "ce-subject": "order-2"})
        by_query = await client.post("/triggers", params={"type": "ping"}, json=[1, 2])
        batch = await client.post("/triggers/batch", json=[{**EVENT, "id": f"b{i}"} for i in range(3)])
        no_type = await client.post("/triggers", json={"total": 5})
        bad_source = await client.post("/triggers", content=_json({**EVENT, "source": ""}),
                                       headers=structured)
        bad_batch = await client.post("/triggers/batch", json=[EVENT, {**EVENT, "type": 3}, {}])
    assert [r.status_code for r in (one, plain, by_query, batch)] == [202] * 4
    assert no_type.status_code == 422 and no_type.json()["errors"][0]["path"] == "type"
    assert bad_source.status_code == 422 and bad_source.json()["errors"][0]["path"] == "source"
    assert bad_batch.status_code == 422
    paths = {e["path"] for e in bad_batch.json()["errors"]}
    assert "[1].type" in paths and {"[2].id", "[2].source", "[2].type"} <= paths
    events = await read_records(kafka_bootstrap, hw_topics["triggers"], 6, topic_prefix)
    assert all(isinstance(e, TriggerEvent) for e in events)
    by_id = {e.id: e for e in events}
    assert by_id["e-1"].data == {"total": 10} and by_id["e-1"].subject == "order-1"
    paid = next(e for e in events if e.type == "order.paid")
    assert paid.data == {"total": 5} and paid.subject == "order-2" and paid.source == "/headwater/api"
    assert {"b0", "b1", "b2"} <= set(by_id) and len(events) == 6


def _json(value: Any) -> bytes:
    import orjson

    return orjson.dumps(value)
