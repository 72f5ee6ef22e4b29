"""An upgrade reads the log an older release wrote: a log written with the v1 schemas is caught
up by today's worker and rebuilt by today's projector exactly like the same log written by
today's build.

Today's engine runs expense approvals (some finish, some wait for a manager's signal). Its
`hw.definitions` and `hw.executions` records are then written twice, record for record and
partition for partition: once by a **v1 writer** (fastavro with the released v1 union and its id:
the bytes a v1 build wrote) plus the golden v1 sample records byte for byte, and once by
today's codec (the golden records re-encoded). A fresh worker catches each log up, gets the
signals and finishes the waiting executions; states, histories, dead letters and views of the
two must be equal.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import datetime
from pathlib import Path
from typing import Any

import fastavro
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from infra.topics import create_topics_async, topic_names
from projections.store import MemoryStore
from projections.views import fold
from projections.views.executions import read_detail
from schemas.avro.catalogue import value_schema
from schemas.avro.release import load_release
from schemas.codec import Codec
from schemas.commands import SignalReceived, StartExecution
from streams.executions.store import StateStore
from streams.runtime.registry import partitions_of
from tests.schemas.golden import load_records
from tests.streams.kit import NOW, Client, finished, history, read_until, running_engine
from tests.streams.test_guarantees import example

pytestmark = pytest.mark.kafka

WAITING = {f"big-{i}" for i in range(4)}
QUICK = {f"small-{i}" for i in range(2)}
ROLES = ("definitions", "executions")


class V1Writer:
    """Writes values as a v1 build did: the v1 union of the topic, under v1's schema id."""

    def __init__(self, today: Codec) -> None:
        self.today, self.release = today, load_release("v1")

    def encode_value(self, topic: str, event: BaseModel) -> bytes:
        role = self.today.role_of(topic)
        assert role is not None
        file = f"{role}-value.avsc"
        data = self.today.encode_value(topic, event)
        body = io.BytesIO(data[5:])
        named = fastavro.schemaless_reader(body, fastavro.parse_schema(value_schema(role)), None,
                                           return_record_name=True)
        out = io.BytesIO()
        out.write(b"\x00" + self.release.manifest[file]["id"].to_bytes(4, "big"))
        fastavro.schemaless_writer(out, fastavro.parse_schema(self.release.schema(file)), named)
        return out.getvalue()


async def _read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic``, partition by partition, in offset order."""
    parts = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    found: list[Any] = []
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while any([await consumer.position(tp) < ends[tp] for tp in parts]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found += records
    finally:
        await consumer.stop()
    return sorted(found, key=lambda r: (r.partition, r.offset))


async def _write_log(bootstrap: str, source: dict[str, str], target: dict[str, str],
                     v1: bool) -> None:
    """The source's definitions and executions, then the golden v1 records, into ``target``."""
    read, prefix = Codec(), target["commands"][: -len("commands")]
    codec = Codec(prefix=prefix)
    writer: Codec | V1Writer = V1Writer(codec) if v1 else codec
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for role in ROLES:
            for record in await _read_all(bootstrap, source[role]):
                event = read.decode_value(record.topic.replace(
                    source[role], f"hw.{role}"), record.value)
                key = read.decode_key(f"hw.{role}", record.key)
                await producer.send_and_wait(
                    target[role], writer.encode_value(target[role], event),
                    key=codec.encode_key(target[role], key), partition=record.partition)
        for golden in load_records("v1"):
            if golden["topic"] not in ("commands", "executions"):
                continue
            topic = target[golden["topic"]]
            data = bytes.fromhex(golden["value_hex"])
            if not v1:
                data = codec.encode_value(topic, read.decode_value(f"hw.{golden['topic']}", data))
            await producer.send_and_wait(topic, data,
                                         key=codec.encode_key(topic, golden["json"]["execution_id"]))
    finally:
        await producer.stop()


def _timeless(value: Any) -> Any:
    """``value`` without datetimes (task completions carry the wall clock of each run)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if not isinstance(v, datetime)
                and not (k.endswith(("_at", "time")) or k in ("duration_ms", "deadline"))}
    if isinstance(value, list):
        return [_timeless(v) for v in value]
    return value


def _dump(model: Any) -> Any:
    if model is None:
        return None
    data = dataclasses.asdict(model) if dataclasses.is_dataclass(model) else model.model_dump()
    return _timeless(data)


async def _run_and_finish(bootstrap: str, topics: dict[str, str], data_dir: Path) -> dict[str, Any]:
    """A fresh worker over ``topics``: catch up, signal the waiting executions, finish."""
    async with Client(bootstrap, topics) as client, running_engine(
            bootstrap, topics, data_dir, app_id="today"):
        for eid in sorted(WAITING):
            await client.send("commands", eid, SignalReceived(
                command_id=f"sig-{eid}", execution_id=eid, time=NOW, name="decision",
                payload={"approved": eid != "big-0"}))
        events = await read_until(bootstrap, topics["executions"], client.codec,
                                  finished(WAITING | QUICK))
        letters = await read_until(bootstrap, topics["dead-letters"], client.codec,
                                   lambda found: len(found) >= 1)
    store = StateStore(data_dir / "executions")
    try:
        states = {s.execution_id: s for p in range(6) for s in store.states(p)}
    finally:
        store.close()
    views = MemoryStore()
    views.write(fold(views, events))
    return {"events": events, "states": states, "views": views,
            "letters": sorted((d.reason, d.offset, d.topic.rsplit(".", 1)[-1]) for d in letters)}


async def test_a_log_written_by_v1_is_caught_up_and_rebuilt_like_one_written_today(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client:
        await client.publish(example("approval"))
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path / "first", app_id="v1"):
            for eid in sorted(WAITING | QUICK):
                amount = 500.0 if eid in WAITING else 50.0
                await client.send("commands", eid, StartExecution(
                    command_id=f"start-{eid}", execution_id=eid, time=NOW,
                    workflow_id="expense-approval", input={"id": eid, "amount": amount,
                                                           "manager": "m"}))
            await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                             lambda found: finished(QUICK)(found) and sum(
                                 e.type == "step_started" and e.step_id == "wait_decision"
                                 for e in found) == len(WAITING))

    logs = {}
    for name in ("v1", "today"):
        prefix = f"{hw_topics['commands'][: -len('commands')]}{name}."
        await create_topics_async(kafka_bootstrap, prefix, partitions=6)
        logs[name] = topic_names(prefix)
        await _write_log(kafka_bootstrap, hw_topics, logs[name], v1=name == "v1")

    # The v1 log really is v1's: every copied value carries a v1 schema id.
    v1_ids = {e["id"] for e in load_release("v1").manifest.values()}
    written = await _read_all(kafka_bootstrap, logs["v1"]["executions"])
    assert {int.from_bytes(r.value[1:5], "big") for r in written} <= v1_ids

    old = await _run_and_finish(kafka_bootstrap, logs["v1"], tmp_path / "v1")
    new = await _run_and_finish(kafka_bootstrap, logs["today"], tmp_path / "today")

    assert not {reason for reason, _, _ in old["letters"]} & {
        "unknown_schema_id", "schema_mismatch", "unknown_event_type", "invalid_record"}
    assert old["letters"] == new["letters"]  # the golden samples refused alike (no such workflow)
    for eid in WAITING | QUICK:
        assert [_dump(e) for e in history(old["events"], eid)] == [
            _dump(e) for e in history(new["events"], eid)]
        assert history(old["events"], eid)[-1].type == "execution_completed"
        assert _dump(old["states"][eid]) == _dump(new["states"][eid])
        assert _dump(read_detail(old["views"], eid)) == _dump(read_detail(new["views"], eid))
    assert orjson.dumps(sorted(old["states"])) == orjson.dumps(sorted(new["states"]))
