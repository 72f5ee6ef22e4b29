"""CloudEvents as the official Python SDK writes them, both generations and both content
modes, 1,000 events each through the real broker and the trigger agent: all accepted.

The SDK 1.x API (`cloudevents.kafka`, shipped unchanged in 2.x as `cloudevents.v1.kafka`)
writes structured records as `content-type: application/json` with no `ce_*` header, which
headwater used to dead-letter as "not structured mode"; 2.x is `cloudevents.core.bindings.kafka`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as kafka_v2
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as EventV2
from cloudevents.v1 import kafka as kafka_v1
from cloudevents.v1.http import CloudEvent as EventV1

from schemas.definitions import RuleDefinition
from schemas.triggers import content_mode, parse_kafka
from tests.streams.kit import Client, eventually, read_until, running_engine
from tests.streams.triggers.test_triggers import publish_rule

pytestmark = pytest.mark.kafka

PER_KIND = 1000
SEEN = RuleDefinition.model_validate({
    "id": "sdk-seen", "name": "Every SDK event", "trigger": {"event_type": "sdk.in"},
    "actions": [{"type": "publish_event", "event_type": "sdk.seen", "data": {}}],
})

Record = tuple[list[tuple[str, bytes]], bytes]


def _v1(structured: bool) -> Callable[[str, int], Record]:
    def make(event_id: str, i: int) -> Record:
        event = EventV1({"id": event_id, "type": "sdk.in", "source": "/sdk/v1",
                         "subject": f"s{i % 7}", "datacontenttype": "application/json"},
                        {"i": i})
        message = (kafka_v1.to_structured if structured else kafka_v1.to_binary)(event)
        return list(message.headers.items()), message.value
    return make


def _v2(structured: bool) -> Callable[[str, int], Record]:
    def make(event_id: str, i: int) -> Record:
        event = EventV2(attributes={"id": event_id, "type": "sdk.in", "source": "/sdk/v2",
                                    "specversion": "1.0", "subject": f"s{i % 7}",
                                    "datacontenttype": "application/json"}, data={"i": i})
        message = (kafka_v2.to_structured if structured else kafka_v2.to_binary)(
            event, JSONFormat())
        return list(message.headers.items()), message.value
    return make


KINDS: dict[str, Callable[[str, int], Record]] = {
    "v1-structured": _v1(True), "v1-binary": _v1(False),
    "v2-structured": _v2(True), "v2-binary": _v2(False),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_sdk_record_is_read_in_its_mode(kind: str) -> None:
    headers, value = KINDS[kind]("e-1", 1)
    mode, _ = content_mode(headers, value)
    assert mode == kind.split("-")[1]
    event = parse_kafka(headers, value)
    assert (event.id, event.type, event.data) == ("e-1", "sdk.in", {"i": 1})


def test_the_sdk_1_structured_record_is_the_one_that_was_refused() -> None:
    headers, _ = KINDS["v1-structured"]("e-1", 1)
    assert dict(headers) == {"content-type": b"application/json"}  # no ce_* header at all


async def test_a_thousand_events_of_each_generation_and_mode_are_all_accepted(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    expected: set[str] = set()
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ) as engine:
        await publish_rule(client, SEEN)
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: agent.book.rules.rule("sdk-seen") is not None, 15)
        for kind, make in KINDS.items():
            for i in range(PER_KIND):
                event_id = f"{kind}-{i}"
                headers, value = make(event_id, i)
                await client.producer.send(hw_topics["triggers"], value, key=b"s%d" % (i % 7),
                                           headers=headers)
                expected.add(event_id)
        await client.producer.flush()

        def matched(records: list[Any]) -> list[Any]:
            return [r for r in records if r.type == "rule_matched" and r.rule_id == "sdk-seen"]

        outcomes = await read_until(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
                                    lambda rs: len(matched(rs)) >= len(expected), timeout_s=120)
    assert {o.event_id for o in matched(outcomes)} == expected
