"""Webhooks: valid, wrong, stale and replayed signatures; rotation; what a valid one writes."""

from __future__ import annotations

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
from schemas.triggers import TriggerEvent
from tests.projections.apikit import NOW, client_of, make_api, owned, read_records

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
