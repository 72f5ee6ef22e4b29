"""Secrets: referenced by name in a definition, put in by the worker at the last moment, never
in an event, a task or an output; a reference arriving in data is never resolved."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from schemas.definitions import WorkflowDefinition
from schemas.secrets import redact, substitute, template_references
from schemas.tasks import TaskRequested
from schemas.validation import validate_rule, validate_workflow
from streams.workers import ActionContext, TaskError, UrlGuard, run_action
from streams.workers.pinning import guarded_client
from streams.workers.secrets import MissingSecret, SecretStore, StepTemplates
from tests.streams.kit import Client, finished, history, read_until, running_engine
from tests.streams.test_e2e import start
from tests.support import records_to_end, serving

TOKEN = "s3cr3t-t0ken-value"


def workflow(base_url: str) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({
        "id": "call-crm", "name": "Call the CRM",
        "steps": [{"id": "call", "action": "http", "with": {
            "url": f"{base_url}/echo",
            "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }} ${ input.tag }"},
            "body": {"note": "${ input.note }"}}}],
        "outputs": {"answer": "${ steps.call.output.body }"},
    })


# -- the pure part -------------------------------------------------------------------------

def test_only_references_written_in_the_definition_are_put_in_where_they_are_written() -> None:
    template = {"headers": {"A": "Bearer {{ secrets.T }} ${ input.tag }"}, "body": "${ input.x }"}
    rendered = {"headers": {"A": "Bearer {{ secrets.T }} {{ secrets.ROOT }}"},
                "body": "{{ secrets.T }}"}
    values = {"T": "tee", "ROOT": "root-password"}.__getitem__
    out, used = substitute(rendered, template_references(template), values)
    assert out == {"headers": {"A": "Bearer tee {{ secrets.ROOT }}"}, "body": "{{ secrets.T }}"}
    assert used == {"tee"}


@given(st.recursive(st.text() | st.integers() | st.none(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_data_without_template_references_passes_through_unchanged(data: Any) -> None:
    out, used = substitute(data, {}, lambda name: "never")
    assert out == data and used == set()


def test_redaction_replaces_every_occurrence_in_keys_and_values() -> None:
    assert redact({"echo": [f"x{TOKEN}y"], TOKEN: 1}, {TOKEN}) == {"echo": ["x***y"], "***": 1}


def test_a_secret_file_is_read_at_every_use(tmp_path: Path) -> None:
    store = SecretStore({"A": "from-settings"}, tmp_path)
    (tmp_path / "B").write_text("first\n")
    assert (store["A"], store["B"]) == ("from-settings", "first")
    (tmp_path / "B").write_text("rotated")
    assert store["B"] == "rotated"
    with pytest.raises(MissingSecret):
        store["C"]


def test_validation_names_misplaced_and_malformed_references() -> None:
    report = validate_workflow({"id": "w", "name": "W", "steps": [
        {"id": "ok", "action": "http", "with": {"url": "https://x.example/?k={{ secrets.K }}"}},
        {"id": "logged", "action": "log", "with": {"message": "{{ secrets.K }}"}},
        {"id": "bad", "action": "http",
         "with": {"url": "https://x.example/", "headers": {"X": "{{ secrets.no-dash }}"}}}]})
    assert report.codes() == [("$.steps[1].with.message", "secret_not_resolved_here"),
                              ("$.steps[2].with.headers.X", "invalid_secret_reference")]
    rule = validate_rule({"id": "r", "name": "R", "trigger": {"event_type": "a"}, "actions": [
        {"type": "start_workflow", "workflow_id": "w", "input": {"t": "{{ secrets.K }}"}}]})
    assert [code for _, code in rule.codes()] == ["secret_not_resolved_here"]


# -- the HTTP action -----------------------------------------------------------------------

@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """Answers with what it received, the Authorization header included."""
    seen: list[dict[str, Any]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append({"auth": request.headers.get("Authorization"), "body": await request.json()})
        return web.json_response(seen[-1])

    app = web.Application()
    app.router.add_post("/echo", echo)
    async with serving(app) as base_url:
        yield base_url, seen


def task(base_url: str, params: dict[str, Any]) -> TaskRequested:
    return TaskRequested(execution_id="ex", seq=3, task_id="ex:t3", step_id="call",
                         task_type="http", params=params, idempotency_key="ex:t3",
                         requested_at=datetime.now(UTC), workflow_id="call-crm",
                         workflow_version="1.0.0")


async def _publish(_: object) -> None:
    raise AssertionError("not used")


async def test_the_server_gets_the_secret_and_the_output_never_shows_it(
    echo_server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, seen = echo_server
    definition = workflow(base_url)
    rendered = {"url": f"{base_url}/echo", "headers": {"Authorization": "Bearer {{ secrets.CRM_TOKEN }} t"},
                "body": {"note": "{{ secrets.CRM_TOKEN }}"}}  # the second one came from data
    guard = UrlGuard(["127.0.0.1"])
    async with guarded_client(guard) as client:
        ctx = ActionContext(client, guard, _publish, secrets=SecretStore({"CRM_TOKEN": TOKEN}),
                            templates=StepTemplates(lambda wid, version: definition))
        output = await run_action(task(base_url, rendered), ctx)
        assert seen[-1] == {"auth": f"Bearer {TOKEN} t", "body": {"note": "{{ secrets.CRM_TOKEN }}"}}
        assert TOKEN not in repr(output) and output["body"]["auth"] == "Bearer *** t"

        ctx = ActionContext(client, guard, _publish, secrets=SecretStore(),
                            templates=StepTemplates(lambda wid, version: definition))
        with pytest.raises(TaskError) as missing:
            await run_action(task(base_url, rendered), ctx)
        assert missing.value.code == "secret_missing" and not missing.value.retryable
        assert len(seen) == 1  # nothing was sent without the secret


# -- on the broker -------------------------------------------------------------------------

@pytest.mark.kafka
async def test_no_record_on_any_topic_carries_the_secret(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
    echo_server: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, seen = echo_server
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",),
        secrets=SecretStore({"CRM_TOKEN": TOKEN}),
    ):
        await client.publish(workflow(base_url))
        await client.send("commands", "ex-crm", start("ex-crm", "call-crm",
                                                      {"tag": "t1", "note": "hello"}))
        events = history(await read_until(kafka_bootstrap, hw_topics["executions"],
                                          client.codec, finished({"ex-crm"})), "ex-crm")
    assert events[-1].type == "execution_completed"
    assert seen == [{"auth": f"Bearer {TOKEN} t1", "body": {"note": "hello"}}]
    assert events[-1].output == {"answer": {"auth": "Bearer *** t1", "body": {"note": "hello"}}}
    for role in ("executions", "tasks", "commands", "triggers", "rule-outcomes", "dead-letters"):
        assert not [r for r in await records_to_end(kafka_bootstrap, hw_topics[role])
                    if TOKEN.encode() in (r.key or b"") + (r.value or b"")], role
