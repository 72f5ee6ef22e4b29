"""Dead letters on ``hw.dead-letters``: records an agent refused, kept with the reason.

Nothing is dropped silently: the original key, value and headers are kept byte for byte,
with where they came from, so that a fixed consumer can replay them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime

__all__ = ["DEAD_LETTER_TYPES", "DeadLetter", "DeadLetterRedriven", "Header", "dead_letter_id"]

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


def dead_letter_id(letter: DeadLetter) -> str:
    """The id a dead letter is served and redriven by: where its record came from.

    The same record refused twice (a redelivery) is one letter. A record with no offset
    (refused before it reached a topic) is told apart by when it was refused.
    """
    if letter.offset >= 0:
        return f"{letter.topic}:{letter.partition}:{letter.offset}"
    return f"{letter.topic}:{letter.partition}:t{int(letter.failed_at.timestamp() * 1e6)}"


class DeadLetterRedriven(BaseModel):
    """Dead letters were sent back to their topic after a fix (written by the API).

    It is on the dead-letters topic itself so that the dead-letters view folds it: a
    letter that has been redriven is marked, and a second redrive of it sends nothing.

    Attributes:
        dead_letter_id: Which letter (``dead_letter_id`` of its record).
        topic: The topic the original record was sent back to.
        redriven_at: When.
        redriven_by: Who asked, if known.
    """

    model_config = _CONFIG

    type: Literal["dead_letter_redriven"] = "dead_letter_redriven"
    dead_letter_id: str = Field(min_length=1)
    topic: str
    redriven_at: UtcDatetime
    redriven_by: str | None = None


DEAD_LETTER_TYPES: tuple[type[BaseModel], ...] = (DeadLetter, DeadLetterRedriven)
