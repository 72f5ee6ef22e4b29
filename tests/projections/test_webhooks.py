"""Webhooks: valid, wrong, stale and replayed signatures; rotation; what a valid one writes."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from projections.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    WebhookVerifier,
    sign,
)
from schemas.commands import StartExecution
from schemas.definition_events import DefinitionPublished, DefinitionStatusChanged
from schemas.triggers import TriggerEvent
from tests.projections.apikit import NOW, T0, client_of, make_api, owned, read_records

BODY = orjson.dumps({"order": 42})
T = int(NOW.timestamp())
SECRETS = {"workflow/wf": ["new-secret", "old-secret"], "*": ["shared"]}


def _headers(secret: str, at: int = T, body: bytes = BODY) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign(secret, at, body),
            "Content-Type": "application/json"}


def _reason(verifier: WebhookVerifier, headers: dict[str, str], body: bytes = BODY,
            target: str = "workflow/wf") -> str:
    try:
        verifier.verify(target, headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER),
                        body, now=T)
    except WebhookRejected as exc:
        return exc.reason
    return "accepted"


def test_each_active_secret_verifies_and_nothing_else_does() -> None:
    verifier = WebhookVerifier(SECRETS, tolerance_s=300)
    assert _reason(verifier, _headers("new-secret")) == "accepted"
    assert _reason(verifier, _headers("old-secret", T - 1)) == "accepted"  # rotation: both active
    assert _reason(verifier, _headers("shared", T - 2)) == "accepted"
    assert _reason(verifier, _headers("guess")) == "bad_signature"
    assert _reason(verifier, _headers("new-secret"), body=BODY + b" ") == "bad_signature"
    assert _reason(verifier, _headers("new-secret", T - 301)) == "stale"
    assert _reason(verifier, _headers("new-secret", T + 301)) == "stale"
    assert _reason(verifier, _headers("new-secret", T - 299)) == "accepted"
    assert _reason(verifier, {}) == "missing"
    assert _reason(verifier, {TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "x"}) == "missing"
    assert _reason(WebhookVerifier({}), _headers("x")) == "not_configured"


def test_a_signature_is_accepted_once_and_several_may_be_offered() -> None:
    verifier = WebhookVerifier(SECRETS)
    headers = _headers("old-secret", T - 5)
    assert _reason(verifier, headers) == "accepted"
    assert _reason(verifier, headers) == "replayed"
    both = {**_headers("new-secret", T - 6),
            SIGNATURE_HEADER: f"{sign('retired', T - 6, BODY)}, {sign('new-secret', T - 6, BODY)}"}
    assert _reason(verifier, both) == "accepted"
    # The same request replayed with only one of its signatures is still the same request.
    assert _reason(verifier, _headers("new-secret", T - 6)) == "replayed"
    assert _reason(verifier, {**both, SIGNATURE_HEADER: sign("retired", T - 6, BODY)}) in (
        "replayed", "bad_signature")


def test_the_replay_cache_is_bounded() -> None:
    verifier = WebhookVerifier(SECRETS, max_seen=3)
    for i in range(10):
        assert _reason(verifier, _headers("shared", T - i)) == "accepted"
    assert len(verifier._seen) == 3
    # the newest three are still refused; the oldest were forgotten
    assert [_reason(verifier, _headers("shared", T - i)) for i in (9, 8, 7)] == ["replayed"] * 3


@pytest.mark.kafka
async def test_webhook_endpoint_starts_the_workflow_and_feeds_rules(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, [owned("workflow", "wf"), owned("rule", "r1"),
                                                owned("workflow", "sleepy", status="paused")],
                   secrets=SECRETS)
    async with client_of(api) as client:
        valid = await client.post("/webhooks/workflow/wf", content=BODY, headers=_headers("old-secret"))
        replayed = await client.post("/webhooks/workflow/wf", content=BODY, headers=_headers("old-secret"))
        wrong = await client.post("/webhooks/workflow/wf", content=BODY, headers=_headers("nope", T - 1))
        stale = await client.post("/webhooks/workflow/wf", content=BODY, headers=_headers("new-secret", T - 3600))
        unknown = await client.post("/webhooks/workflow/ghost", content=BODY, headers=_headers("shared", T - 2))
        paused = await client.post("/webhooks/workflow/sleepy", content=BODY, headers=_headers("shared", T - 4))
        rule = await client.post("/webhooks/rule/r1", content=BODY,
                                 headers={**_headers("shared", T - 3), "X-Event-Type": "order.paid"})
        metrics = (await client.get("/metrics")).text
    assert valid.status_code == 202, valid.text
    assert (replayed.status_code, wrong.status_code, stale.status_code) == (409, 401, 401)
    assert [wrong.json()["errors"][0]["code"], stale.json()["errors"][0]["code"]] == ["bad_signature", "stale"]
    assert unknown.status_code == 404 and rule.status_code == 202
    assert paused.status_code == 409 and "no active version" in paused.json()["detail"]
    [start] = await read_records(kafka_bootstrap, hw_topics["commands"], 1, topic_prefix)
    assert isinstance(start, StartExecution)
    assert (start.execution_id, start.trigger_type, start.input) == (valid.json()["execution_id"], "webhook", {"order": 42})
    [event] = await read_records(kafka_bootstrap, hw_topics["triggers"], 1, topic_prefix)
    assert isinstance(event, TriggerEvent)
    assert (event.type, event.source, event.data) == ("order.paid", "/webhooks/rule/r1", {"order": 42})
    assert 'headwater_webhooks_total{kind="workflow",outcome="replayed"} 1.0' in metrics
    assert 'headwater_webhooks_total{kind="workflow",outcome="accepted"} 1.0' in metrics


def relay(version: str, path: str, status: str = "active") -> DefinitionPublished:
    """A workflow whose webhook trigger has its own path and maps the request to its input."""
    body = {"id": "relay", "name": "Relay", "version": version,
            "triggers": [{"type": "schedule", "cron": "0 * * * *"},
                         {"type": "webhook", "path": path,
                          "input": {"tag": "${ event.data.release.tag }",
                                    "repo": "${ event.data.repo.name }"}}],
            "steps": [{"id": "a", "action": "log"}]}
    return DefinitionPublished(kind="workflow", definition_id="relay", version=version,
                               definition=body, status=status, published_at=T0,  # type: ignore[arg-type]
                               checksum=f"sum-relay-{version}")


@pytest.mark.kafka
async def test_a_webhook_trigger_answers_at_its_path_and_renders_its_input(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    secrets = {"workflow/relay": ["relay-secret"]}
    release = orjson.dumps({"release": {"tag": "v2.0"}, "repo": {"name": "hw/headwater"}})
    api = make_api(kafka_bootstrap, hw_topics, [relay("1.0.0", "github/releases")],
                   secrets=secrets)
    async with client_of(api) as client:
        started = await client.post("/webhooks/github/releases", content=release,
                                    headers=_headers("relay-secret", body=release))
        by_id = await client.post("/webhooks/workflow/relay", content=release,
                                  headers=_headers("relay-secret", T - 1, body=release))
        unmapped = await client.post("/webhooks/github/releases", content=BODY,
                                     headers=_headers("relay-secret", T - 2))
        unsigned_elsewhere = await client.post("/webhooks/github/other", content=release,
                                               headers=_headers("relay-secret", T - 3, release))
    assert started.status_code == 202 and by_id.status_code == 202, (started.text, by_id.text)
    assert unmapped.status_code == 422
    assert unmapped.json()["errors"][0]["path"] == "$.triggers[1].input"
    assert unsigned_elsewhere.status_code == 401  # an unknown path is not told apart from a bad key
    commands = await read_records(kafka_bootstrap, hw_topics["commands"], 2, topic_prefix)
    assert [c.input for c in commands] == [{"tag": "v2.0", "repo": "hw/headwater"}] * 2
    assert {c.workflow_id for c in commands} == {"relay"}


@pytest.mark.kafka
async def test_a_new_version_moves_the_route_and_pausing_closes_it(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    paused = DefinitionStatusChanged(kind="workflow", definition_id="relay", version="2.0.0",
                                     status="paused", previous_status="active",
                                     changed_at=T0 + timedelta(minutes=1))
    api = make_api(kafka_bootstrap, hw_topics,
                   [relay("1.0.0", "old/path"), relay("2.0.0", "new/path"), paused],
                   secrets={"*": ["shared"]})
    release = orjson.dumps({"release": {"tag": "v1"}, "repo": {"name": "r"}})
    async with client_of(api) as client:
        old = await client.post("/webhooks/old/path", content=release,
                                headers=_headers("shared", body=release))
        new = await client.post("/webhooks/new/path", content=release,
                                headers=_headers("shared", T - 1, body=release))
        body = await client.get("/definitions/workflow/relay/versions/2.0.0")
        missing = await client.get("/definitions/workflow/relay/versions/9.9.9")
    # 2.0.0 is paused, so 1.0.0 (active) answers again, at its own path
    assert (old.status_code, new.status_code) == (202, 404), (old.text, new.text)
    assert body.status_code == 200 and body.json()["definition"]["triggers"][1]["path"] == "new/path"
    assert body.json()["status"] == "paused" and missing.status_code == 404
