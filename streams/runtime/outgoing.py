"""A record a handler asks the runtime to produce, named by topic role (pure: no Kafka)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

__all__ = ["Outgoing"]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to produce: the topic role (``tasks``, ``commands``, ``triggers``), its key
    and value."""

    role: str
    key: str
    value: BaseModel
