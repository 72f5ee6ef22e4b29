"""Dead letters served and redriven, on the broker: a start for a workflow the engine does not
know is refused, listed with its reason and decoded command, and after the fix (publishing
the workflow) a redrive sends it back once: the execution runs, a second redrive sends
nothing, and the view says when it was redriven."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from projections import create_api
from projections.store import MemoryStore
from projections.views import fold
from projections.views.dead_letters import (
    DeadLetterFilter,
    page_dead_letters,
    read_dead_letter,
    read_summary,
)
from schemas.commands import StartExecution
from schemas.dead_letters import DeadLetter, DeadLetterRedriven
from schemas.definitions import WorkflowDefinition
from tests.projections.histories import T0
from tests.streams.kit import NOW, Client, running_engine

pytestmark = pytest.mark.kafka

LATE = WorkflowDefinition.model_validate({
    "id": "late", "name": "Published after its first start",
    "steps": [{"id": "echo", "action": "transform", "with": {"n": "${ input.n }"}}],
})


def letter(offset: int, minutes: int, topic: str = "hw.triggers", reason: str = "invalid") -> DeadLetter:
    return DeadLetter(topic=topic, partition=0, offset=offset, key=b"k", value=b'{"a": 1}',
                      reason=reason, failed_at=T0 + timedelta(minutes=minutes))


def test_the_view_lists_newest_first_filters_and_pages() -> None:
    store = MemoryStore()
    events = [letter(1, 1), letter(2, 2, reason="other"), letter(3, 3, topic="hw.commands"),
              letter(1, 4)]  # offset 1 refused again later: one letter, at its latest time
    store.write(fold(store, events))
    everything, _ = page_dead_letters(store, DeadLetterFilter(), limit=10)
    assert [r.id for r in everything] == ["hw.triggers:0:1", "hw.commands:0:3", "hw.triggers:0:2"]
    first, cursor = page_dead_letters(store, DeadLetterFilter(topic="hw.triggers"), limit=1)
    rest, end = page_dead_letters(store, DeadLetterFilter(topic="hw.triggers"), limit=1,
                                  cursor=cursor)
    assert [r.id for r in first + rest] == ["hw.triggers:0:1", "hw.triggers:0:2"] and end is None
    between, _ = page_dead_letters(store, DeadLetterFilter(since=T0 + timedelta(minutes=2),
                                                           until=T0 + timedelta(minutes=3)), limit=10)
    assert [r.id for r in between] == ["hw.commands:0:3", "hw.triggers:0:2"]
    by_reason, _ = page_dead_letters(store, DeadLetterFilter(reason="other"), limit=10)
    assert [r.id for r in by_reason] == ["hw.triggers:0:2"]
    summary = read_summary(store)
    assert (summary.total, summary.redriven) == (3, 0)
    assert summary.by_topic == {"hw.triggers": 2, "hw.commands": 1}
    assert summary.by_reason == {"invalid": 2, "other": 1}


def test_the_first_redrive_is_the_one_kept_in_any_order() -> None:
    first = DeadLetterRedriven(dead_letter_id="hw.triggers:0:1", topic="hw.triggers",
                               redriven_at=T0, redriven_by="a")
    second = first.model_copy(update={"redriven_at": T0 + timedelta(1), "redriven_by": "b"})
    for events in ([letter(1, 0), first, second], [second, letter(1, 0), first]):
        store = MemoryStore()
        store.write(fold(store, events))
        record = read_dead_letter(store, "hw.triggers:0:1")
        assert record is not None and record.redriven_by == "a" and record.letter is not None
        assert read_summary(store).model_dump() == {"total": 1, "redriven": 1, "by_topic": {
            "hw.triggers": 1}, "by_reason": {"invalid": 1}}


async def _until(client: httpx.AsyncClient, path: str, done: Any, **params: Any) -> Any:
    body: Any = None
    for _ in range(300):
        response = await client.get(path, params=params)
        if response.status_code == 200 and done(body := response.json()):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path}: {body}")


async def test_a_refused_start_is_listed_and_redriven_once_after_the_fix(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:
    api = create_api(kafka_bootstrap, hw_topics)
    start = StartExecution(command_id="start:late-1", execution_id="late-1", time=NOW,
                           workflow_id="late", input={"n": 7})
    async with running_engine(kafka_bootstrap, hw_topics, tmp_path) as _, \
            Client(kafka_bootstrap, hw_topics) as producer, \
            api.router.lifespan_context(api), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://api") as client:
        await producer.send("commands", "late-1", start)
        page = await _until(client, "/dead-letters", lambda b: b["items"], topic="commands")
        [item] = page["items"]
        assert item["reason"] == "unknown_workflow" and item["topic"] == hw_topics["commands"]
        assert item["decoded_as"] == "avro" and item["decoded"]["workflow_id"] == "late"
        assert item["key"] == "late-1" and item["redriven_at"] is None and item["redrivable"]
        assert (await client.get("/dead-letters", params={"reason": "other"})).json()["items"] == []
        detail = (await client.get(f"/dead-letters/{item['id']}")).json()
        assert detail["value_base64"] and detail["decoded"] == item["decoded"]

        await producer.publish(LATE)  # the fix
        await _until(client, "/workflows/late", lambda b: b["active"])
        dry = (await client.post("/dead-letters/redrive", json={"ids": [item["id"]],
                                                                 "dry_run": True})).json()
        assert [i["outcome"] for i in dry["items"]] == ["would_send"] and dry["sent"] == 0
        first = (await client.post("/dead-letters/redrive", json={"ids": [item["id"]]})).json()
        again = (await client.post("/dead-letters/redrive", json={"topic": "commands"})).json()
        by_id = (await client.post("/dead-letters/redrive", json={"ids": [item["id"], "nope"]})).json()
        assert [i["outcome"] for i in first["items"]] == ["sent"]
        assert again["items"] == [] and again["sent"] == 0  # the filter leaves redriven ones out
        assert [i["outcome"] for i in by_id["items"]] == ["already_redriven", "not_found"]

        done = await _until(client, "/executions/late-1",
                            lambda b: b["summary"]["status"] == "completed")
        assert done["detail"]["steps"]["echo"]["output"] == {"n": 7}
        marked = await _until(client, "/dead-letters",
                              lambda b: b["items"] and b["items"][0]["redriven_by"] == "anonymous",
                              topic="commands")
        assert marked["items"][0]["redriven_at"] is not None
        assert (await client.get("/dead-letters", params={"redriven": "false"})).json()["items"] == []
        summary = (await client.get("/dead-letters/summary")).json()
        assert summary == {"total": 1, "redriven": 1, "by_topic": {hw_topics["commands"]: 1},
                           "by_reason": {"unknown_workflow": 1}}
        # Sent once: the commands topic holds the original and one copy, no third.
        await asyncio.sleep(1.0)
    assert await _count_starts(kafka_bootstrap, hw_topics, producer) == 2


async def _count_starts(bootstrap: str, topics: dict[str, str], client: Client) -> int:
    """Start commands on the commands topic, read to its end."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from streams.runtime.registry import partitions_of
    from tests.streams.kit import read_until

    topic = topics["commands"]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
        total = sum((await consumer.end_offsets(parts)).values())
    finally:
        await consumer.stop()
    records = await read_until(bootstrap, topic, client.codec, lambda f: len(f) >= total)
    return sum(isinstance(r, StartExecution) for r in records)


async def test_the_cli_lists_shows_and_redrives(kafka_bootstrap: str, hw_topics: dict[str, str],
                                                topic_prefix: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import orjson
    from typer.testing import CliRunner

    from headwater.cli import app
    from schemas.codec import Codec
    from schemas.triggers import TriggerEvent
    from tests.projections.apikit import make_api, read_records, served

    topic = hw_topics["triggers"]
    trigger = TriggerEvent(id="e-1", source="shop", type="order.placed", time=T0, data={"n": 1})
    refused = DeadLetter(topic=topic, partition=3, offset=9, key=b"o-1",
                         value=Codec(prefix=topic_prefix).encode_value(topic, trigger),
                         reason="handler_error", message="boom", failed_at=T0, consumer="triggers")
    api = make_api(kafka_bootstrap, hw_topics, [refused, letter(1, 1, topic="elsewhere")])

    async def cli(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(CliRunner().invoke, app, list(args))
        return result.exit_code, result.output

    async with served(api) as url:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        code, listed = await cli("dead-letters", "ls", "--topic", "triggers", "--json")
        assert code == 0 and [x["id"] for x in orjson.loads(listed)["items"]] == [f"{topic}:3:9"]
        code, shown = await cli("dead-letters", "show", f"{topic}:3:9")
        assert code == 0 and "handler_error" in shown and "order.placed" in shown
        code, dry = await cli("dead-letters", "redrive", "--reason", "handler_error")
        assert code == 0 and "would_send" in dry and "dry run" in dry
        code, other = await cli("dead-letters", "redrive", "elsewhere:0:1", "--json")
        assert code == 0 and orjson.loads(other)["items"][0]["outcome"] == "not_redrivable"
        code, sent = await cli("dead-letters", "redrive", f"{topic}:3:9")
        assert code == 0 and "1 sent" in sent
        code, _ = await cli("dead-letters", "redrive")
        assert code == 2
    [back] = await read_records(kafka_bootstrap, topic, 1, topic_prefix)
    assert back == trigger


async def test_fields_a_newer_engine_adds_are_served_as_details(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    from projections.auth import TokenTable
    from projections.views._tx import canonical_json, time_key
    from projections.views.dead_letters import DeadLetterRecord
    from tests.projections.apikit import client_of

    refused = letter(5, 1)
    written = refused.model_dump(mode="json") | {"exception": "ValueError: no", "handler": "h"}
    store = MemoryStore()
    store.write({"dl/hw.triggers:0:5": canonical_json(DeadLetterRecord(id="hw.triggers:0:5",
                                                                       letter=written)),
                 f"dlt/{time_key(refused.failed_at)}/hw.triggers:0:5": b""})
    api = create_api(kafka_bootstrap, hw_topics, store=store, project=False, tokens=TokenTable())
    async with client_of(api) as client:
        item = (await client.get("/dead-letters/hw.triggers:0:5")).json()
        listed = (await client.get("/dead-letters")).json()["items"]
    assert item["details"] == {"exception": "ValueError: no", "handler": "h"}
    assert item["decoded"] == {"a": 1} and item["decoded_as"] == "json"
    assert [i["details"] for i in listed] == [item["details"]]
