"""A published version is immutable everywhere, not just behind the API: the workers keep the
first content and dead-letter a changed re-publish (naming kind, id and version), `headwater
deploy` refuses it before writing (exit 2), and re-deploying the same content (each `headwater
up`) keeps the status a user set."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from headwater.cli import app
from headwater.publish import Publisher, read_definition_record
from headwater.settings import Settings
from headwater.stack import Stack
from schemas.codec import Codec
from schemas.definition_events import DefinitionStatusChanged
from schemas.definitions import WorkflowDefinition
from streams.runtime.dead_letters import DeadLetters, DeadLetterSink
from streams.runtime.registry import DefinitionsFeed
from tests.projections.apikit import read_records
from tests.streams.kit import NOW

pytestmark = pytest.mark.kafka

EXAMPLES = Path(__file__).parents[2] / "examples"

CHANGED_HELLO = """kind: workflow
id: hello
name: Hello
steps:
  - {id: greet, action: log, with: {message: "Goodbye, ${ input.name }!"}}
"""


async def _registry_after(bootstrap: str, topics: dict[str, str], prefix: str) -> DefinitionsFeed:
    """A worker's definitions feed, caught up with the topic."""
    codec = Codec(prefix=prefix)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    feed = DefinitionsFeed(bootstrap, topics["definitions"], codec,
                           DeadLetterSink(producer, DeadLetters(topics["dead-letters"], codec)))
    await feed.start()
    task = asyncio.create_task(feed.run())
    try:
        await asyncio.wait_for(feed.sync(), 30)
    finally:
        task.cancel()
        await feed.stop()
        await producer.stop()
    return feed


async def test_pausing_an_example_survives_up_and_a_changed_version_is_refused_everywhere(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    examples = tmp_path / "examples"
    examples.mkdir()
    shutil.copy(EXAMPLES / "workflows" / "hello.yaml", examples / "hello.yaml")
    stack = Stack(Settings(kafka_bootstrap=kafka_bootstrap, topic_prefix=topic_prefix,
                           examples_dir=examples), say=lambda _: None)
    await asyncio.to_thread(stack._deploy_examples, kafka_bootstrap)  # the first `headwater up`
    paused = DefinitionStatusChanged(kind="workflow", definition_id="hello", version="1.0.0",
                                     status="paused", changed_at=NOW.replace(year=2030))
    async with Publisher(kafka_bootstrap, topic_prefix) as publisher:
        topic = hw_topics["definitions"]
        await publisher._producer.send_and_wait(topic, publisher.codec.encode_value(topic, paused),
                                                key=publisher.codec.encode_key(topic, paused.key))
    await asyncio.to_thread(stack._deploy_examples, kafka_bootstrap)  # `headwater up` again

    feed = await _registry_after(kafka_bootstrap, hw_topics, topic_prefix)
    entry = feed.registry.workflow("hello", "1.0.0")
    assert entry is not None and entry.status == "paused"
    assert feed.registry.workflow("hello") is None, "up re-activated the paused example"
    view = await read_definition_record(kafka_bootstrap, topic_prefix, "workflow", "hello")
    assert view is not None and view.versions["1.0.0"].status == "paused"

    # The CLI refuses changed content under the same version before writing anything.
    changed = tmp_path / "hello.yaml"
    changed.write_text(CHANGED_HELLO)
    monkeypatch.setenv("HEADWATER_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("HEADWATER_TOPIC_PREFIX", topic_prefix)
    refused = await asyncio.to_thread(CliRunner().invoke, app, ["deploy", str(changed)])
    assert refused.exit_code == 2, refused.output
    assert "workflow 'hello' version 1.0.0 is published already with other content" in (
        " ".join(refused.output.split()))
    same = await asyncio.to_thread(CliRunner().invoke, app,
                                   ["deploy", str(examples / "hello.yaml")])
    assert same.exit_code == 0, same.output

    # Written anyway (an older CLI, another producer): the workers keep the first and say why.
    async with Publisher(kafka_bootstrap, topic_prefix) as publisher:
        body = WorkflowDefinition.model_validate({"id": "hello", "name": "Hello", "steps": [
            {"id": "greet", "action": "log", "with": {"message": "Goodbye"}}]})
        await publisher.definitions([body])
    feed = await _registry_after(kafka_bootstrap, hw_topics, topic_prefix)
    entry = feed.registry.workflow("hello", "1.0.0")
    assert entry is not None and entry.status == "paused"
    assert "Hello, " in str(entry.definition.steps[0].model_dump())
    letters = await read_records(kafka_bootstrap, hw_topics["dead-letters"], 1, topic_prefix)
    assert {letter.reason for letter in letters} == {"definition_version_conflict"}
    assert "workflow 'hello' version 1.0.0 is already published with other content" in (
        letters[0].message)
    view = await read_definition_record(kafka_bootstrap, topic_prefix, "workflow", "hello")
    assert view is not None and view.versions["1.0.0"].checksum == entry.checksum

    # `headwater up` with an example edited in place: it says so and deploys the others.
    (examples / "hello.yaml").write_text(CHANGED_HELLO)
    shutil.copy(EXAMPLES / "workflows" / "approval.yaml", examples / "approval.yaml")
    said: list[str] = []
    stack.say = said.append
    await asyncio.to_thread(stack._deploy_examples, kafka_bootstrap)
    assert said[0].startswith("not deployed: workflow 'hello' version 1.0.0 is published already")
    assert said[-1].startswith("deployed 1 example definitions")
