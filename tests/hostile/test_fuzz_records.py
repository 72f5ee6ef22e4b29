"""A hypothesis fuzz of `hw.triggers` and `hw.definitions` records on the real broker: junk
bytes, JSON that is almost a CloudEvent, headers in every mode, and rules whose conditions,
regexes and expressions are hostile (written past the API, as any producer can). The engine
never exits (a failed part calls os._exit, which would end this test run), and a valid
event published after the batch, on the same partition, is answered within 1 s.

Each example starts an engine on the same data directory and topics, so later examples also
replay the earlier ones' records after a restart, as a restarted worker does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.definition_events import DefinitionPublished
from tests.hostile.test_regex_and_expressions import KEY, OK_RULE, _event
from tests.rules.test_one_compiler import conditions, expressions
from tests.streams.kit import NOW, Client, Tail, eventually, running_engine
from tests.streams.triggers.test_triggers import publish_rule

pytestmark = pytest.mark.kafka

CE_HEADERS = ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject",
              "content-type", "ce_dataschema", "x-other"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
almost_events = st.fixed_dictionaries({}, optional={
    "specversion": st.sampled_from(["1.0", "0.3", "", 1]),
    "id": st.text(max_size=4) | st.integers(), "source": st.text(max_size=4),
    "type": st.text(max_size=6) | st.just("hostile.in"), "time": st.text(max_size=12),
    "subject": st.text(max_size=4), "data": json_values, "data_base64": st.text(max_size=6),
    "datacontenttype": st.sampled_from(["application/json", "text/plain", "x/y", ""]),
})
headers = st.lists(st.tuples(st.sampled_from(CE_HEADERS),
                             st.binary(max_size=12) | st.sampled_from(
                                 [b"1.0", b"application/cloudevents+json",
                                  b"application/json", b"hostile.in"])), max_size=5)


def _json(value: Any) -> bytes:
    # The standard library's encoder: a producer may send integers beyond 64 bits, which
    # orjson refuses to write (and the fuzz must send).
    return json.dumps(value).encode()


triggers = st.tuples(
    st.just("triggers"), headers,
    st.binary(max_size=64) | almost_events.map(_json) | json_values.map(_json))


def _definition(condition: Any, expression: str, kind: str, n: int) -> DefinitionPublished:
    # A new id each time: a re-published version with other content is refused as a conflict.
    body = {"id": f"fuzz-{n}", "name": "fuzz", "trigger": {"event_type": "hostile.in"},
            "conditions": condition,
            "actions": [{"type": "publish_event", "event_type": "fuzz.out",
                         "data": {"v": "${ " + expression + " }"}}]}
    return DefinitionPublished(kind=kind, definition_id=f"fuzz-{n}", version="1.0.0",  # type: ignore[arg-type]
                               definition=body, published_at=NOW)


definitions = st.tuples(
    st.just("definitions"), st.just([]),
    st.builds(_definition, conditions, expressions, st.sampled_from(["rule", "rule", "workflow"]),
              st.integers(0, 10**9))
    | st.binary(max_size=64))
batches = st.lists(triggers | definitions, min_size=10, max_size=30)
_runs = itertools.count()


async def _scenario(bootstrap: str, topics: dict[str, str], data_dir: Path,
                    batch: list[tuple[str, list[tuple[str, bytes]], Any]]) -> float:
    run = next(_runs)
    async with Client(bootstrap, topics) as client, running_engine(
        bootstrap, topics, data_dir
    ) as engine, Tail(bootstrap, topics["rule-outcomes"], client.codec) as outcomes:
        await publish_rule(client, OK_RULE)
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: agent.book.rules.rule("ok") is not None, 10)
        for role, record_headers, value in batch:
            topic = topics[role]
            if isinstance(value, DefinitionPublished):
                await client.send(role, value.key, value)
            else:
                await client.producer.send_and_wait(topic, value, key=KEY.encode(),
                                                    headers=record_headers)
        event_id = f"behind-{run}"
        sent = datetime.now(UTC)
        await client.send("triggers", KEY, _event(event_id, {"kind": "ok"}))
        await eventually(lambda: any(getattr(o, "event_id", "") == event_id
                                     for o in outcomes.records), 60)
        outcome = next(o for o in outcomes.records if getattr(o, "event_id", "") == event_id)
        assert outcome.type == "rule_matched"
        return (outcome.evaluated_at - sent).total_seconds()


@pytest.fixture(scope="module")
def fuzz_topics(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from infra.topics import create_topics, topic_names

    prefix = f"fz{datetime.now(UTC).strftime('%H%M%S%f')}."
    create_topics(kafka_bootstrap, prefix, partitions=3)
    return topic_names(prefix), tmp_path_factory.mktemp("fuzz-engine")


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(batch=batches)
def test_fuzzed_triggers_and_definitions_never_stop_the_engine(
    kafka_bootstrap: str, fuzz_topics: Any, batch: list[Any],
) -> None:
    topics, data_dir = fuzz_topics
    latency = asyncio.run(_scenario(kafka_bootstrap, topics, data_dir, batch))
    assert latency < 1.0
