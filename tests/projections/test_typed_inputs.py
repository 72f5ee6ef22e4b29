"""A start through the API is checked against the version's declared inputs before it is sent."""

from __future__ import annotations

import pytest

from schemas.commands import StartExecution
from schemas.definition_events import DefinitionPublished
from tests.projections.apikit import T0, client_of, make_api, read_records

pytestmark = pytest.mark.kafka

BODY = {"id": "orders", "name": "Orders", "steps": [{"id": "a", "action": "log"}],
        "inputs": {"order_id": {"type": "string", "required": True},
                   "amount": {"type": "number", "required": True},
                   "currency": {"type": "string", "enum": ["EUR", "USD"], "default": "EUR"}}}


def _published(version: str, body: dict[str, object]) -> DefinitionPublished:
    return DefinitionPublished(kind="workflow", definition_id="orders", version=version,
                               definition={**body, "version": version}, status="active",
                               published_at=T0, checksum=f"sum-{version}")


async def test_a_start_with_a_bad_input_is_422_naming_each_field(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    # 1.0.0 declared nothing; 2.0.0, the newest active, declares inputs
    api = make_api(kafka_bootstrap, hw_topics, [
        _published("1.0.0", {k: v for k, v in BODY.items() if k != "inputs"}),
        _published("2.0.0", BODY)])
    async with client_of(api) as client:
        bad = await client.post("/workflows/orders/executions",
                                json={"input": {"amount": "12", "currency": "GBP"}})
        old = await client.post("/workflows/orders/executions",
                                json={"input": {}, "version": "1.0.0"})
        good = await client.post("/workflows/orders/executions",
                                 json={"input": {"order_id": "o-1", "amount": 12}})
    assert bad.status_code == 422, bad.text
    assert sorted((e["path"], e["code"]) for e in bad.json()["errors"]) == [
        ("input.amount", "type"), ("input.currency", "enum"), ("input.order_id", "required")]
    assert old.status_code == 202, old.text
    assert good.status_code == 202, good.text
    starts = await read_records(kafka_bootstrap, hw_topics["commands"], 2, topic_prefix)
    # two executions, two partitions: the log gives no order between them
    assert sorted((s.version or "") for s in starts if isinstance(s, StartExecution)) == [
        "", "1.0.0"]
