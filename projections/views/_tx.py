"""The unit of work of a fold: typed reads through pending writes, one batch out.

Folds read and write views only through a ``Tx``. It never touches the store until the
shell commits its ``changes()``; a fold is therefore a pure function of (store contents,
events) and can be run over a chunk of events and committed with the offsets atomically.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import orjson
from pydantic import BaseModel

__all__ = ["Reader", "ScanReader", "Tx", "canonical_json", "time_key"]

M = TypeVar("M", bound=BaseModel)


class Reader(Protocol):
    """Anything with ``get(key) -> bytes | None`` (every ``ViewStore`` is one)."""

    def get(self, key: str) -> bytes | None:
        """The value at ``key``, or None."""
        ...


class ScanReader(Reader, Protocol):
    """A reader that can also scan a key prefix in order (every ``ViewStore`` is one)."""

    def scan(self, prefix: str, *, start_after: str | None = None,
             reverse: bool = False) -> Iterator[tuple[str, bytes]]:
        """Items whose key starts with ``prefix``, in key order (or reversed)."""
        ...


class Tx:
    """Pending view changes over a reader; decoded records are cached until commit."""

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._models: dict[str, BaseModel | None] = {}
        self._raw: dict[str, bytes] = {}
        self._dirty: set[str] = set()

    def load(self, key: str, model: type[M]) -> M | None:
        """The record at ``key`` as ``model``, or None."""
        if key in self._models:
            cached = self._models[key]
            return cached if isinstance(cached, model) else None
        data = self._raw.pop(key) if key in self._raw else self._reader.get(key)
        record = None if data is None else model.model_validate_json(data)
        self._models[key] = record
        return record

    def save(self, key: str, record: BaseModel) -> None:
        """Write ``record`` at ``key``."""
        self._models[key] = record
        self._raw.pop(key, None)
        self._dirty.add(key)

    def put(self, key: str, data: bytes) -> None:
        """Write raw bytes at ``key``."""
        self._raw[key] = data
        self._models.pop(key, None)
        self._dirty.add(key)

    def delete(self, key: str) -> None:
        """Remove ``key``."""
        self._models[key] = None
        self._raw.pop(key, None)
        self._dirty.add(key)

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a value (pending writes included)."""
        if key in self._models:
            return self._models[key] is not None
        if key in self._raw:
            return True
        return self._reader.get(key) is not None

    def changes(self) -> dict[str, bytes | None]:
        """Every pending write, serialised, ready for ``ViewStore.write``."""
        out: dict[str, bytes | None] = {}
        for key in self._dirty:
            if key in self._raw:
                out[key] = self._raw[key]
            else:
                record = self._models.get(key)
                out[key] = None if record is None else canonical_json(record)
        return out

    def __len__(self) -> int:
        return len(self._dirty)


def canonical_json(record: BaseModel) -> bytes:
    """JSON with sorted keys: folds of one log in any interleaving of its partitions store
    the same bytes, so a rebuilt view can be compared with the live one byte for byte."""
    return orjson.dumps(record.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)


def time_key(moment: datetime) -> str:
    """A UTC timestamp whose string order is its time order (for index keys)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
