"""examples/consumers/analytics_consumer.py, run as an analyst would (a subprocess knowing
nothing of headwater), reads what a real engine wrote with the registry: hw.executions and
hw.rule-outcomes, every record decoded by the registry's ids and fastavro alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from schemas.definition_events import DefinitionPublished
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.registry_http import URL_VARIABLE, ConfluentSchemaRegistry
from schemas.triggers import TriggerEvent
from tests.streams.kit import NOW, Client, eventually, finished, read_until, running_engine

pytestmark = [pytest.mark.kafka, pytest.mark.registry]

ECHO = WorkflowDefinition.model_validate({
    "id": "review-order", "name": "Review an order",
    "steps": [{"id": "note", "action": "transform", "with": {"order": "${ input.order }"}}],
    "outputs": {"order": "${ steps.note.output.order }"},
})
BIG_ORDER = RuleDefinition.model_validate({
    "id": "big-order", "name": "Big order", "trigger": {"event_type": "order.*"},
    "conditions": {"$gt": {"data.amount": 100}},
    "actions": [{"type": "start_workflow", "workflow_id": "review-order",
                 "input": {"order": "${ event.data.id }"}}],
})
ORDER = TriggerEvent(id="1", source="shop", type="order.created", subject="cust-1", time=NOW,
                     data={"id": "o-1", "amount": 250})
CONSUMER = Path(__file__).resolve().parents[2] / "examples" / "consumers" / "analytics_consumer.py"


async def test_the_example_consumer_reads_executions_and_rule_outcomes_by_the_registrys_ids(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
    schema_registry_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(URL_VARIABLE, schema_registry_url)  # as `headwater up` would be run
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ) as engine:
        await client.publish(ECHO)
        rule = DefinitionPublished(kind="rule", definition_id=BIG_ORDER.id,
                                   version=BIG_ORDER.version, published_at=NOW,
                                   definition=BIG_ORDER.model_dump(mode="json", by_alias=True))
        await client.send("definitions", rule.key, rule)
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: agent.book.rules.rule("big-order") is not None, 5.0)
        await client.send("triggers", "cust-1", ORDER)
        await read_until(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
                         lambda rs: len(rs) >= 1)
        started = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                   lambda rs: any(r.type == "execution_completed" for r in rs))
        await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                         finished({started[0].execution_id}))

    topics = [hw_topics["executions"], hw_topics["rule-outcomes"]]
    run = subprocess.run([sys.executable, str(CONSUMER), "--bootstrap", kafka_bootstrap,
                          "--registry", schema_registry_url, "--idle", "3", *topics],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    lines = [orjson.loads(line) for line in run.stdout.splitlines()]
    registry = ConfluentSchemaRegistry(schema_registry_url)
    for topic in topics:
        mine = [line for line in lines if line["topic"] == topic]
        assert mine, f"nothing read from {topic}"
        assert {line["schema_id"] for line in mine} == {
            registry.get_version(f"{topic}-value", "latest").schema_id}
    events = [(line["event"].rsplit(".", 1)[-1], line["record"]) for line in lines]
    names = [name for name, _ in events]
    assert "ExecutionStarted" in names and "ExecutionCompleted" in names
    (matched,) = [r for name, r in events if name == "RuleMatched"]
    assert matched["rule_id"] == "big-order" and matched["event_id"] == "1"
    (done,) = [r for name, r in events if name == "ExecutionCompleted"]
    assert orjson.loads(done["output"]) == {"order": "o-1"}  # free-form JSON is JSON text
