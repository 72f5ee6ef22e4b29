"""The projector on a real broker: live views, exact resume after a restart, rebuild, lag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from projections.projector import VIEW_FORMAT, Projector
from projections.store import RocksStore
from projections.views import fold, get_execution, read_rule_stats, read_workflow_stats
from schemas.codec import Codec
from schemas.definition_events import DefinitionPublished, DefinitionStatusChanged
from schemas.executions import ExecutionEventBase
from schemas.outcomes import RuleFailed, RuleMatched, RuleSkipped
from tests.projections.histories import T0, Execution, matched, published, rule_failed, skipped

pytestmark = pytest.mark.kafka


def _history(first: int, count: int) -> list[BaseModel]:
    events: list[BaseModel] = []
    for i in range(first, first + count):
        run = Execution(f"e{i}", workflow_id=f"wf-{i % 3}", start=T0 + timedelta(seconds=i))
        run.started(i=i).step_retried("a").step_ok("b", output=i)
        (run.completed() if i % 4 else run.step_failed("c").failed("c"))
        events += run.events
        events.append(matched("r1", f"ev{i}", at_s=i) if i % 2 else skipped("r2", f"ev{i}"))
    return events


def _key(event: BaseModel) -> str:
    if isinstance(event, ExecutionEventBase):
        return event.execution_id
    if isinstance(event, RuleMatched | RuleSkipped | RuleFailed):
        return event.rule_id
    assert isinstance(event, DefinitionPublished | DefinitionStatusChanged)
    return event.key


def _role(event: BaseModel) -> str:
    if isinstance(event, ExecutionEventBase):
        return "executions"
    if isinstance(event, RuleMatched | RuleSkipped | RuleFailed):
        return "rule-outcomes"
    return "definitions"


@pytest.fixture
async def produce(kafka_bootstrap: str, hw_topics: dict[str, str],
                  topic_prefix: str) -> AsyncIterator[object]:
    codec = Codec(prefix=topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True,
                                linger_ms=5)
    await producer.start()

    async def send(events: list[BaseModel], raw: list[tuple[str, bytes]] = ()) -> None:  # type: ignore[assignment]
        futures = []
        for event in events:
            topic = hw_topics[_role(event)]
            futures.append(await producer.send(topic, codec.encode_value(topic, event),
                                               key=codec.encode_key(topic, _key(event))))
        for role, value in raw:
            futures.append(await producer.send(hw_topics[role], value, key=b"junk"))
        await producer.flush()
        for future in futures:
            await future

    yield send
    await producer.stop()


async def test_live_views_equal_a_rebuild_from_offset_zero_key_by_key(
        produce, kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = RocksStore(tmp_path / "views")
    projector = Projector(store, kafka_bootstrap, hw_topics, max_records=50)
    await produce([published("workflow", "wf-0"), *_history(0, 20)])
    await projector.start()
    try:
        await projector.wait_caught_up()
        # live: more history, a status change and a record nobody can decode, while it runs
        await produce([*_history(20, 20), published("rule", "r1"),
                       DefinitionStatusChanged(kind="workflow", definition_id="wf-0",
                                               version="1.0.0", status="paused",
                                               changed_at=T0 + timedelta(hours=1))],
                      raw=[("executions", b"\x00not avro")])
        await projector.wait_caught_up()
        assert all(p.lag == 0 for p in await projector.lag())
        live = dict(store.scan(""))
        view = get_execution(store, "e7")
        assert view is not None and view.summary.status == "completed"
        stats = read_workflow_stats(store, "wf-0")
        assert stats is not None and sum(stats.by_status.values()) == 14
        assert projector.rejected(hw_topics["executions"]) == 1

        await projector.rebuild()
        assert get_execution(store, "e7") is None  # wiped
        await projector.wait_caught_up()
        rebuilt = dict(store.scan(""))
    finally:
        await projector.stop()
        store.close()
    assert rebuilt.keys() == live.keys()
    for key in live:
        assert rebuilt[key] == live[key], key


async def test_a_restart_resumes_exactly_where_the_views_stopped(
        produce, kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second = _history(0, 10), [*_history(10, 5), rule_failed("r1", "evx")]
    store = RocksStore(tmp_path / "views")
    projector = Projector(store, kafka_bootstrap, hw_topics)
    await produce(first)
    await projector.start()
    await projector.wait_caught_up()
    await projector.stop()
    store.close()

    await produce(second)
    store = RocksStore(tmp_path / "views")
    restarted = Projector(store, kafka_bootstrap, hw_topics)
    await restarted.start()
    try:
        lag = await restarted.lag()
        assert sum(p.lag for p in lag) <= len(second)  # it starts from the stored offsets
        await restarted.wait_caught_up()
        assert restarted.applied == len(second)  # not one record of the first run again
        rule = read_rule_stats(store, "r1")
        assert rule is not None and rule.failed == 1
    finally:
        await restarted.stop()
        store.close()


async def test_views_stored_in_another_format_are_rebuilt_from_the_log(
        produce, kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await produce(_history(0, 6))
    store = RocksStore(tmp_path / "views")
    # what an older projector left: its format, its offsets past the records, a stale record
    old = {"_format": b"1", "x/stale": b"{}"}
    old |= {f"_offset/{hw_topics['executions']}/{p}": b"999" for p in range(6)}
    store.write(old)
    projector = Projector(store, kafka_bootstrap, hw_topics)
    await projector.start()
    try:
        await projector.wait_caught_up()
        assert store.get("x/stale") is None and store.get("_format") == VIEW_FORMAT
        view = get_execution(store, "e3")
        assert view is not None and view.summary.status == "completed"
        assert [k for k, _ in store.scan("xiw/wf-0/")]  # the new indexes exist
    finally:
        await projector.stop()
        store.close()


async def test_a_store_filled_by_a_fold_is_kept(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:
    store = RocksStore(tmp_path / "views")
    store.write(fold(store, _history(0, 2)))
    projector = Projector(store, kafka_bootstrap, hw_topics)
    await projector.start()
    try:
        assert get_execution(store, "e1") is not None and store.get("_format") == VIEW_FORMAT
    finally:
        await projector.stop()
        store.close()
