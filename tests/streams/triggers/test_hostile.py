"""Hostile triggers on a real broker: the agent never stops, what it cannot take lands in the dead
letters with the reason, and the valid records behind it are answered.

- a valid event whose workflow start would be larger than `hw.commands` takes: dead letter
  `input_too_large` (it used to fail the flush of the whole batch and kill the agent);
- thousands of undecodable records: dead-lettered at the speed of normal processing (batched
  with the cycle, log lines rate-limited), not one round trip and one log line each.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from schemas.dead_letters import DeadLetter
from schemas.definitions import WorkflowDefinition
from schemas.triggers import TriggerEvent
from tests.streams.kit import NOW, Client, read_until, running_engine
from tests.support import records_to_end

pytestmark = pytest.mark.kafka

# Its start carries the event's data twice: a 700 KB event makes a 1.4 MB start.
TWICE = WorkflowDefinition.model_validate({
    "id": "twice", "name": "Twice",
    "triggers": [{"type": "event", "type_pattern": "blob.*",
                  "input": {"a": "${ event.data.blob }", "b": "${ event.data.blob }"}}],
    "steps": [{"id": "n", "action": "log", "with": {"message": "got it"}}],
})


def blob(event_id: str, size: int) -> TriggerEvent:
    return TriggerEvent(id=event_id, source="test", type="blob.sent", subject="s", time=NOW,
                        data={"blob": "x" * size})


async def dead_letters(bootstrap: str, topic: str, client: Client) -> list[DeadLetter]:
    found = [client.codec.decode_value(r.topic, r.value)
             for r in await records_to_end(bootstrap, topic)]
    assert all(isinstance(letter, DeadLetter) for letter in found)
    return found  # type: ignore[return-value]


async def test_an_event_whose_start_is_too_large_is_a_dead_letter_and_the_next_one_starts(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ):
        await client.publish(TWICE)
        await client.send("triggers", "s", blob("big", 700_000))
        await client.send("triggers", "s", blob("small", 10))
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  lambda rs: any(r.type == "execution_completed" for r in rs))
        letters = await dead_letters(kafka_bootstrap, hw_topics["dead-letters"], client)

    started = [e for e in events if e.type == "execution_started"]
    assert [len(e.input["a"]) for e in started] == [10]  # the small one, and only it
    [letter] = letters
    assert (letter.reason, letter.consumer) == ("input_too_large", "triggers")
    assert hw_topics["commands"] in letter.message and "bytes" in letter.message


async def test_five_thousand_undecodable_triggers_are_dead_lettered_without_holding_the_valid_one(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    count = 5000
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ):
        await client.publish(TWICE)
        topic = hw_topics["triggers"]
        key = client.codec.encode_key(topic, "s")  # one partition: the valid event comes last
        # Given 5,000 records no decoder takes, then a valid event behind them
        started = time.monotonic()
        sends = [await client.producer.send(topic, b"\xff\xfe not a trigger %d" % n, key=key)
                 for n in range(count)]
        await asyncio.gather(*sends)
        await client.send("triggers", "s", blob("after", 10))
        # When the engine takes them, then the valid event's execution completes
        await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                         lambda rs: any(r.type == "execution_completed" for r in rs),
                         timeout_s=60)
        took = time.monotonic() - started
        letters = await dead_letters(kafka_bootstrap, hw_topics["dead-letters"], client)

    print(f"{count} undecodable triggers dead-lettered, then a valid one completed: {took:.1f} s")
    assert len(letters) == count
    assert {letter.consumer for letter in letters} == {"triggers"}
    assert sorted(letter.offset for letter in letters) == list(range(count))
