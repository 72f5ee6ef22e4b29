"""Dead letters on ``hw.dead-letters``: records an agent refused, kept with the reason.

Nothing is dropped silently: the original key, value and headers are kept byte for byte,
with where they came from, so that a fixed consumer can replay them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime

__all__ = ["DEAD_LETTER_TYPES", "DeadLetter", "Header"]

# Raw bytes are rarely UTF-8: their JSON form (API, CLI, golden files) is base64.
_CONFIG = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")


class Header(BaseModel):
    """One Kafka record header (names may repeat, order is kept).

    Attributes:
        key: Header name.
        value: Header value bytes (Kafka allows null).
    """

    model_config = _CONFIG

    key: str
    value: bytes | None = None


class DeadLetter(BaseModel):
    """A record that could not be processed.

    Attributes:
        topic: The topic the record was read from.
        partition: Its partition.
        offset: Its offset.
        key: The original key bytes (also this record's Kafka key).
        value: The original value bytes.
        headers: The original headers, in order.
        reason: A machine-readable code, e.g. ``"unknown_schema_id"``, ``"invalid_cloudevent"``,
            ``"handler_error"``.
        message: A human-readable explanation.
        failed_at: When the record was refused.
        consumer: Which agent or consumer group refused it.
        original_timestamp_ms: The original record's Kafka timestamp, if it had one.
    """

    model_config = _CONFIG

    type: Literal["dead_letter"] = "dead_letter"
    topic: str
    partition: int = Field(ge=-1)
    offset: int = Field(ge=-1)
    key: bytes | None = None
    value: bytes | None = None
    headers: tuple[Header, ...] = ()
    reason: str = Field(min_length=1)
    message: str = ""
    failed_at: UtcDatetime
    consumer: str = ""
    original_timestamp_ms: int | None = None


DEAD_LETTER_TYPES: tuple[type[BaseModel], ...] = (DeadLetter,)
