"""CloudEvents in structured and binary content mode (Kafka protocol binding)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest
from hypothesis import given, settings

from schemas.codec import Codec, DecodeError, DecodeReason
from schemas.triggers import (
    InvalidTrigger,
    TriggerEvent,
    parse_binary,
    parse_kafka,
    parse_structured,
)
from tests.schemas.test_codec_roundtrip import trigger_events

ORDER = {"specversion": "1.0", "id": "evt-1", "source": "/shop/orders", "type": "order.created",
         "subject": "order-42", "time": "2024-05-01T14:00:00+02:00",
         "datacontenttype": "application/json", "data": {"amount": 250, "items": ["a", "b"]},
         "traceparent": "00-abc-def-01"}


def test_structured_mode_reads_attributes_extensions_and_data() -> None:
    headers = [("content-type", b"application/cloudevents+json; charset=UTF-8")]
    event = parse_kafka(headers, orjson.dumps(ORDER))

    assert (event.id, event.source, event.type, event.subject) == (
        "evt-1", "/shop/orders", "order.created", "order-42")
    assert event.time == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert event.data == {"amount": 250, "items": ["a", "b"]}
    assert event.extensions == {"traceparent": "00-abc-def-01"}
    assert event.key == "order-42"


def test_binary_mode_reads_ce_headers_and_the_value_as_data() -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"evt-1"), ("ce_source", b"/shop/orders"),
               ("ce_type", b"order.created"), ("ce_subject", b"order-42"),
               ("ce_traceparent", b"00-abc"), ("content-type", b"application/json")]
    event = parse_kafka(headers, b'{"amount": 250}')

    assert event.type == "order.created" and event.data == {"amount": 250}
    assert event.datacontenttype == "application/json"
    assert event.extensions == {"traceparent": "00-abc"}


def test_binary_mode_keeps_text_as_a_string_and_other_bytes_as_base64() -> None:
    base = [("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"/s"), ("ce_type", b"t")]
    text = parse_binary([*base, ("content-type", b"text/plain")], "héllo".encode())
    blob = parse_binary([*base, ("content-type", b"application/octet-stream")], b"\xff\x00")
    assert text.data == "héllo"
    assert blob.data is None and base64.b64decode(blob.data_base64 or "") == b"\xff\x00"


@pytest.mark.parametrize(("body", "field"), [
    ({**ORDER, "source": ""}, "source"),
    ({k: v for k, v in ORDER.items() if k != "type"}, "type"),
    ({**ORDER, "specversion": "0.3"}, "specversion"),
    ({**ORDER, "time": "yesterday"}, "time"),
    ({**ORDER, "Trace-Parent": "x"}, "Trace-Parent"),
    ({**ORDER, "count": 2**40}, "count"),
    ({**ORDER, "ratio": 0.5}, "ratio"),
])
def test_each_invalid_attribute_is_named(body: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidTrigger) as caught:
        parse_structured(body)
    assert field in [p.field for p in caught.value.problems]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidTrigger) as caught:
        parse_structured({"specversion": "1.0", "id": "", "source": "/s"})
    assert {p.field for p in caught.value.problems} == {"id", "type"}


def test_declared_json_that_does_not_parse_names_data() -> None:
    headers = [("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_source", b"/s"),
               ("ce_type", b"t"), ("content-type", b"application/json")]
    with pytest.raises(InvalidTrigger) as caught:
        parse_kafka(headers, b"{not json")
    assert caught.value.field == "data"


def test_a_record_that_is_no_cloudevent_says_so() -> None:
    with pytest.raises(InvalidTrigger) as caught:
        parse_kafka([("x-other", b"1")], b"plain text")
    assert caught.value.field == "specversion"


@settings(max_examples=60, deadline=None)
@given(event=trigger_events())
def test_both_content_modes_round_trip(event: TriggerEvent) -> None:
    headers, value = event.to_structured()
    assert parse_kafka(headers, value) == event
    headers, value = event.to_binary()
    again = parse_kafka(headers, value)
    # Binary mode carries extension values as header text: the CloudEvents canonical strings.
    text = {k: ("true" if v is True else "false" if v is False else str(v))
            for k, v in event.extensions.items()}
    expected = event.model_copy(update={"extensions": text})
    if not value:  # binary mode cannot tell an empty payload from none
        expected = expected.model_copy(update={"data": None, "data_base64": None})
    assert again == expected


def test_the_codec_accepts_every_form_a_producer_may_send() -> None:
    codec = Codec()
    event = parse_structured(ORDER)
    avro = codec.encode_value("hw.triggers", event)
    forms = [([], avro), event.to_structured(), event.to_binary(), ([], orjson.dumps(ORDER))]
    decoded = [codec.decode_trigger("hw.triggers", h, v, partition=0, offset=i)
               for i, (h, v) in enumerate(forms)]
    assert decoded[:2] == [event, event] and decoded[3] == event
    assert decoded[2].data == event.data and decoded[2].id == event.id


def test_the_codec_names_the_attribute_of_an_invalid_cloudevent() -> None:
    with pytest.raises(DecodeError) as caught:
        Codec().decode_trigger("hw.triggers", [], orjson.dumps({**ORDER, "source": ""}),
                               partition=2, offset=17)
    assert caught.value.reason == DecodeReason.INVALID_CLOUDEVENT
    assert "source" in caught.value.detail and caught.value.offset == 17


def test_as_dict_is_the_json_event_format() -> None:
    event = parse_structured(ORDER)
    assert event.as_dict() == {**ORDER, "time": "2024-05-01T12:00:00Z"}


def test_a_refusal_says_which_content_mode_was_chosen_and_why() -> None:
    with pytest.raises(InvalidTrigger) as binary:
        parse_kafka([("ce_specversion", b"1.0"), ("ce_type", b"t")], b"{}")
    assert "binary mode, the record has a ce_specversion header" in str(binary.value)
    with pytest.raises(InvalidTrigger) as structured:
        parse_kafka([("content-type", b"application/json")], b'{"specversion": "1.0"}')
    assert "structured mode, no ce_* header and the value is a JSON object with specversion" \
        in str(structured.value)
    with pytest.raises(InvalidTrigger) as neither:
        parse_kafka([("content-type", b"application/json")], b'{"total": 5}')
    assert "neither content mode" in str(neither.value)
    assert "content-type application/json" in str(neither.value)
