"""The codec's errors and the reason codes a dead letter carries (public via `schemas.codec`)."""

from __future__ import annotations

from typing import Final

__all__ = ["CodecError", "DecodeError", "DecodeReason", "EncodeError"]


class DecodeReason:
    """The reason codes of ``DecodeError`` (also the dead letter's ``reason``)."""

    NULL_VALUE: Final = "null_value"
    TRUNCATED: Final = "truncated"
    UNKNOWN_MAGIC_BYTE: Final = "unknown_magic_byte"
    UNKNOWN_SCHEMA_ID: Final = "unknown_schema_id"
    SCHEMA_MISMATCH: Final = "schema_mismatch"
    CORRUPT: Final = "corrupt"
    UNKNOWN_EVENT_TYPE: Final = "unknown_event_type"
    INVALID_RECORD: Final = "invalid_record"
    INVALID_CLOUDEVENT: Final = "invalid_cloudevent"
    UNKNOWN_TOPIC: Final = "unknown_topic"


class CodecError(Exception):
    """Base of the codec's errors."""


class EncodeError(CodecError):
    """A model cannot be written to a topic (wrong topic, or a value Avro cannot hold)."""


class DecodeError(CodecError):
    """A record's bytes cannot be turned into an event.

    Attributes:
        topic: The topic the bytes came from.
        partition: Their partition (-1 if unknown).
        offset: Their offset (-1 if unknown).
        reason: One of the ``DecodeReason`` codes.
        detail: A human-readable explanation.
    """

    def __init__(
        self, topic: str, partition: int, offset: int, reason: str, detail: str = ""
    ) -> None:
        self.topic, self.partition, self.offset = topic, partition, offset
        self.reason, self.detail = reason, detail
        super().__init__(
            f"cannot decode {topic}[{partition}]@{offset}: {reason}"
            + (f": {detail}" if detail else "")
        )
