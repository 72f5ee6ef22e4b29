"""Catching up a partition of hw.executions: nothing skipped silently, and the slot commands a
crash may have lost are produced again.

`CatchUp` is exercised on records built here (no broker); the last test runs the processor's
catch-up on a real broker and reads the dead letters it writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.codec import Codec
from schemas.commands import AcquireSlot, GrantSlot, ReleaseSlot
from schemas.executions import ExecutionCompleted, ExecutionStarted, StepScheduled
from schemas.gates import ExecutionQueued, SlotGranted, SlotQueued
from streams.executions.catch_up import CatchUp
from streams.executions.store import StateStore
from tests.streams.kit import Client, read_until, running_engine

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TOPIC = "hw.executions"
CODEC = Codec(prefix="hw.")


@dataclass
class FakeRecord:
    """What `CatchUp` reads of a consumed record."""

    key: bytes | None
    value: bytes | None
    offset: int
    topic: str = TOPIC
    partition: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp: int = 0


def records(*events: Any) -> list[FakeRecord]:
    out = []
    for offset, event in enumerate(events):
        value = event if isinstance(event, bytes) else CODEC.encode_value(TOPIC, event)
        out.append(FakeRecord(CODEC.encode_key(TOPIC, "e1"), value, offset))
    return out


def common(seq: int, eid: str = "e1") -> dict[str, Any]:
    return {"execution_id": eid, "seq": seq, "time": T0, "command_id": f"c{seq}"}


def queued() -> ExecutionQueued:
    return ExecutionQueued(**common(1), workflow_id="wf", workflow_version="1", gate_id="gate:wf",
                           ticket="e1:slot1", limit=1)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "store")


def test_an_unreadable_event_and_every_later_one_of_its_execution_are_refused_by_name(
        store: StateStore) -> None:
    started = ExecutionStarted(**common(1), workflow_id="wf", workflow_version="1")
    later = StepScheduled(**common(3), step_id="a", step_type="action")
    fold = CatchUp(store, CODEC, 0)
    refused = fold.fold(records(started, b"\x00\x00\x00\x00\x07not avro", later))
    assert [(r.offset, reason) for r, reason, _ in refused] == [
        (1, "unknown_schema_id"), (2, "history_gap")]
    assert all("'e1'" in message for _, _, message in refused)
    state = store.get(0, "e1")
    assert state is not None and state.seq == 1  # kept as it was before the unreadable event


def test_a_duplicate_is_skipped_without_a_dead_letter(store: StateStore) -> None:
    started = ExecutionStarted(**common(1), workflow_id="wf", workflow_version="1")
    assert CatchUp(store, CODEC, 0).fold(records(started, started)) == []


def test_a_folded_queued_execution_asks_its_gate_again(store: StateStore) -> None:
    fold = CatchUp(store, CODEC, 0)
    fold.fold(records(queued()))
    [again] = fold.resend()
    assert again.key == "gate:wf" and isinstance(again.value, AcquireSlot)
    assert (again.value.command_id, again.value.ticket) == ("e1:slot1:acquire", "e1:slot1")


def test_a_folded_end_releases_its_slot_again_and_an_admitted_one_does_not_acquire(
        store: StateStore) -> None:
    started = ExecutionStarted(**common(2), workflow_id="wf", workflow_version="1")
    done = ExecutionCompleted(**common(3))
    fold = CatchUp(store, CODEC, 0)
    fold.fold(records(queued(), started, done))
    [again] = fold.resend()
    assert isinstance(again.value, ReleaseSlot) and again.value.command_id == "e1:slot1:release"


def test_a_folded_grant_the_gate_still_holds_is_sent_again(store: StateStore) -> None:
    gate = {"execution_id": "gate:wf", "time": T0}
    granted = SlotGranted(**gate, seq=1, command_id="a1", ticket="x:slot1", holder="x", limit=1)
    waiting = SlotQueued(**gate, seq=2, command_id="a2", ticket="y:slot1", holder="y", limit=1)
    fold = CatchUp(store, CODEC, 0)
    fold.fold(records(granted, waiting))
    [again] = fold.resend()
    assert again.key == "x" and isinstance(again.value, GrantSlot)
    assert again.value.command_id == "gate:wf:e1"  # the id the live grant had
    held = store.get_gate(0, "gate:wf")
    assert held is not None and held.running == {"x:slot1": "x"}


@pytest.mark.kafka
async def test_the_processor_sends_an_unreadable_execution_event_to_the_dead_letters(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client:
        topic = hw_topics["executions"]
        key = client.codec.encode_key(topic, "broken-1")
        started = ExecutionStarted(**common(1, "broken-1"), workflow_id="wf", workflow_version="1")
        await client.producer.send_and_wait(topic, client.codec.encode_value(topic, started), key=key)
        await client.producer.send_and_wait(topic, b"\x00\x00\x00\x00\x07not avro", key=key)
        async with running_engine(kafka_bootstrap, hw_topics, tmp_path):
            letters = await read_until(kafka_bootstrap, hw_topics["dead-letters"], client.codec,
                                       lambda found: len(found) >= 1)
    [letter] = letters
    assert letter.reason == "unknown_schema_id" and letter.consumer == "processor.catch_up"
    assert letter.topic == topic and letter.offset == 1
    assert client.codec.decode_key(topic, letter.key) == "broken-1"
    assert "'broken-1'" in letter.message
