"""Alerts on the broker: a failing workflow with `alert_on_failure` delivers one alert to each
channel kind (a local SMTP server receives the mail, a local HTTP server the signed webhook
and the Slack message), repeated failures are one incident, and a success resolves it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from projections.webhooks import WebhookVerifier
from schemas.alerts import AlertRaised, AlertResolved
from schemas.definitions import WorkflowDefinition
from streams.workers.alert_sender import OpenAlerts, parse_channels
from tests.streams.kit import Client, finished, read_until, running_engine
from tests.streams.test_e2e import start
from tests.support import serving

SECRET = "alert-signing-secret"


def test_repeated_failures_are_one_incident_and_a_success_resolves_it() -> None:
    book = OpenAlerts()
    common: dict[str, Any] = {"key": "workflow:w", "workflow_id": "w",
                              "time": "2026-01-01T00:00:00Z"}
    assert book.admit(AlertResolved(execution_id="e0", **common)) is False  # nothing open
    assert book.admit(AlertRaised(execution_id="e1", **common)) is True
    assert book.admit(AlertRaised(execution_id="e2", **common)) is False  # same incident
    assert book.admit(AlertResolved(execution_id="e3", **common)) is True
    assert book.admit(AlertResolved(execution_id="e4", **common)) is False
    assert book.admit(AlertRaised(execution_id="e5", **common)) is True  # a new incident


def test_channels_are_validated_naming_the_field() -> None:
    with pytest.raises(ValueError, match="url"):
        parse_channels('{"hook": {"kind": "webhook", "secret": "s"}}')


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, _Mailbox]]:
    box = _Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[dict[str, Any]], list[dict[str, Any]]]]:
    hooks: list[dict[str, Any]] = []
    slack: list[dict[str, Any]] = []
    verifier = WebhookVerifier.from_text(orjson.dumps({"alerts": [SECRET]}).decode())

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        verifier.verify("alerts", request.headers.get("X-Headwater-Timestamp"),
                        request.headers.get("X-Headwater-Signature"), body,
                        time.time())  # raises (a 500 here) when the signature is wrong
        hooks.append(orjson.loads(body))
        return web.json_response({})

    async def work(request: web.Request) -> web.Response:
        ok = (await request.json())["ok"]
        return web.json_response({}, status=200 if ok else 422)

    async def slack_hook(request: web.Request) -> web.Response:
        slack.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/slack", slack_hook)
    app.router.add_post("/work", work)
    async with serving(app) as base_url:
        yield base_url, hooks, slack


def flaky(base_url: str) -> WorkflowDefinition:
    """Fails when its input says so (the server answers 422: not retried)."""
    return WorkflowDefinition.model_validate({
        "id": "nightly", "name": "Nightly",
        "steps": [{"id": "run", "action": "http",
                   "with": {"url": f"{base_url}/work", "body": {"ok": "${ input.ok }"}}}],
        "monitoring": {"alert_on_failure": True, "alert_channels": ["hook", "chat", "mail"]},
    })


@pytest.mark.kafka
async def test_a_failing_workflow_alerts_every_channel_once_and_resolves(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
    smtp: tuple[int, _Mailbox],
    receiver: tuple[str, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    port, box = smtp
    base_url, hooks, slack = receiver
    channels = parse_channels(orjson.dumps({
        "hook": {"kind": "webhook", "url": f"{base_url}/hook", "secret": SECRET},
        "chat": {"kind": "slack", "url": f"{base_url}/slack"},
        "mail": {"kind": "email", "host": "127.0.0.1", "port": port,
                 "sender": "headwater@example.com", "to": ["ops@example.com"]},
    }).decode())
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path, http_allow=("127.0.0.1",),
        alert_channels=channels, alert_backoff_s=0.05,
    ):
        await client.publish(flaky(base_url))
        for n, ok in enumerate([False, False, True]):
            await client.send("commands", f"n-{n}", start(f"n-{n}", "nightly", {"ok": ok}))
            await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                             finished({f"n-{n}"}))
        for _ in range(200):
            if len(hooks) == 2 and len(slack) == 2 and len(box.messages) == 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # nothing more may come
    assert [h["type"] for h in hooks] == ["alert_raised", "alert_resolved"]
    assert hooks[0]["workflow_id"] == "nightly" and hooks[0]["execution_id"] == "n-0"
    assert hooks[1]["execution_id"] == "n-2"
    assert "failed" in slack[0]["text"] and "resolved" in slack[1]["text"]
    subjects = [message_from_bytes(m)["Subject"] for m in box.messages]
    assert "failed" in subjects[0] and "resolved" in subjects[1]
    assert message_from_bytes(box.messages[0])["To"] == "ops@example.com"
    alerts = await read_until(kafka_bootstrap, hw_topics["alerts"], client.codec,
                              lambda rs: len(rs) >= 3)
    assert [a.type for a in alerts] == ["alert_raised", "alert_raised", "alert_resolved"]
