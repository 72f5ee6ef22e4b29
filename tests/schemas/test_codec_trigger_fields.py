"""`Codec.decode_trigger_fields`, the trigger agent's fast path: for any record it gives what
`decode_trigger(...).as_dict()` and the event's time give, and fails exactly as it fails."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import Codec, DecodeError, TriggerFields
from schemas.triggers import TriggerEvent
from tests.schemas.test_codec_roundtrip import trigger_events

TOPIC = "hw.triggers"
CODEC = Codec()


def slow(headers: list[tuple[str, bytes | None]], data: bytes | None) -> TriggerFields | str:
    try:
        event = CODEC.decode_trigger(TOPIC, headers, data, partition=1, offset=2)
    except DecodeError as exc:
        return exc.reason
    return TriggerFields(event.as_dict(), event.time)


def fast(headers: list[tuple[str, bytes | None]], data: bytes | None) -> TriggerFields | str:
    try:
        return CODEC.decode_trigger_fields(TOPIC, headers, data, partition=1, offset=2)
    except DecodeError as exc:
        return exc.reason


@settings(max_examples=150, deadline=None)
@given(trigger_events())
def test_an_avro_trigger_reads_as_its_event_dict_and_time(event: TriggerEvent) -> None:
    data = CODEC.encode_value(TOPIC, event)
    assert fast([], data) == TriggerFields(event.as_dict(), event.time)


@settings(max_examples=150, deadline=None)
@given(trigger_events(), st.data())
def test_a_damaged_avro_trigger_reads_or_fails_as_the_full_decoder_does(
    event: TriggerEvent, data: st.DataObject,
) -> None:
    good = bytearray(CODEC.encode_value(TOPIC, event))
    cut = data.draw(st.integers(5, len(good)))
    edits = data.draw(st.lists(st.tuples(st.integers(5, len(good) - 1), st.integers(0, 255)),
                               max_size=3))
    for position, byte in edits:
        good[position] = byte
    damaged = bytes(good[:cut]) + data.draw(st.binary(max_size=3))
    assert fast([], damaged) == slow([], damaged)


@settings(max_examples=50, deadline=None)
@given(trigger_events())
def test_cloudevents_in_either_mode_read_as_the_full_decoder_reads_them(
    event: TriggerEvent,
) -> None:
    for headers, value in (event.to_structured(), event.to_binary()):
        assert fast(list(headers), value) == slow(list(headers), value)


@pytest.mark.parametrize("change", [
    {"id": ""}, {"specversion": "0.3"}, {"subject": ""}, {"data_base64": "not base64!"},
    {"extensions": {"Bad-Name": "x"}}, {"extensions": {"big": 2**40}},
])
def test_a_record_the_model_refuses_is_refused_with_the_full_reason(change: dict[str, object]) -> None:
    # Written by hand past the model's checks, as a foreign producer with our schema could.
    event = TriggerEvent.model_construct(**{
        **TriggerEvent(id="1", source="s", type="t").model_dump(), **change})
    data = CODEC.encode_value(TOPIC, event)
    assert fast([], data) == slow([], data) == "invalid_record"


def test_times_keep_their_microseconds_and_whole_seconds_read_as_the_model_writes_them() -> None:
    for when in (datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC),
                 datetime(2026, 3, 1, 12, 0, 5, 120, tzinfo=UTC),
                 datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)):
        event = TriggerEvent(id="1", source="s", type="t", time=when)
        fields = fast([], CODEC.encode_value(TOPIC, event))
        assert isinstance(fields, TriggerFields)
        assert fields.time == when
        assert fields.event["time"] == event.as_dict()["time"]


@settings(max_examples=50, deadline=None)
@given(trigger_events(), st.binary(min_size=1, max_size=3))
def test_bytes_after_the_record_are_refused_as_corrupt(event: TriggerEvent, extra: bytes) -> None:
    data = CODEC.encode_value(TOPIC, event) + extra
    assert fast([], data) == slow([], data) == "corrupt"
