"""The dead-letters view from ``hw.dead-letters``: every refused record, newest first.

Keys ``dl/<id>`` (the letter as written, and whether it was redriven),
``dlt/<failed_at>/<id>`` (the time index the list pages over) and ``dlsum`` (counts by topic
and reason, for a monitoring page). The id is where the record
came from (``schemas.dead_letters.dead_letter_id``), so the same record refused twice is
one letter, listed at its latest refusal. A redrive is folded from its own event on the same
topic: the view, not the API's memory, says what was already sent back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel

from projections.views._tx import ScanReader, Tx, time_key
from schemas.dead_letters import DeadLetter, DeadLetterRedriven, dead_letter_id

__all__ = ["DeadLetterFilter", "DeadLetterRecord", "DeadLetterSummary",
           "apply_dead_letter_event", "page_dead_letters", "read_dead_letter", "read_summary"]

_RECORD = "dl/"
_BY_TIME = "dlt/"
_SUMMARY = "dlsum"


class DeadLetterSummary(BaseModel):
    """Counts over every dead letter (a letter refused again counts once, by its latest)."""

    total: int = 0
    redriven: int = 0
    by_topic: dict[str, int] = {}
    by_reason: dict[str, int] = {}


def _count(tx: Tx, letter: dict[str, Any] | None, step: int, redriven: int = 0) -> None:
    summary = tx.load(_SUMMARY, DeadLetterSummary) or DeadLetterSummary()
    topics, reasons = dict(summary.by_topic), dict(summary.by_reason)
    if letter is not None:
        for counts, name in ((topics, str(letter["topic"])), (reasons, str(letter["reason"]))):
            counts[name] = counts.get(name, 0) + step
            if counts[name] <= 0:
                del counts[name]
    tx.save(_SUMMARY, DeadLetterSummary(total=summary.total + step,
                                        redriven=summary.redriven + redriven,
                                        by_topic=topics, by_reason=reasons))


def read_summary(reader: ScanReader) -> DeadLetterSummary:
    """The counts over every dead letter."""
    data = reader.get(_SUMMARY)
    return DeadLetterSummary() if data is None else DeadLetterSummary.model_validate_json(data)


class DeadLetterRecord(BaseModel):
    """One dead letter and its redrive, if any.

    Attributes:
        letter: The dead letter as written (its JSON form: bytes in base64), None while
            only its redrive has been seen.
    """

    id: str
    letter: dict[str, Any] | None = None
    redriven_at: datetime | None = None
    redriven_by: str | None = None
    redriven_to: str | None = None

    def dead_letter(self) -> DeadLetter | None:
        """The letter as a model (fields a newer writer added are left out)."""
        if self.letter is None:
            return None
        known = {k: v for k, v in self.letter.items() if k in DeadLetter.model_fields}
        return DeadLetter.model_validate_json(orjson.dumps(known))


def _index_key(failed_at: datetime, letter_id: str) -> str:
    return f"{_BY_TIME}{time_key(failed_at)}/{letter_id}"


def apply_dead_letter_event(tx: Tx, event: DeadLetter | DeadLetterRedriven) -> bool:
    """Fold one event of the dead-letters topic; True when the view changed."""
    if isinstance(event, DeadLetterRedriven):
        key = _RECORD + event.dead_letter_id
        record = tx.load(key, DeadLetterRecord) or DeadLetterRecord(id=event.dead_letter_id)
        if record.redriven_at is not None and record.redriven_at <= event.redriven_at:
            return False  # the first redrive is the one that sent it
        if record.redriven_at is None:
            _count(tx, None, 0, redriven=1)
        tx.save(key, record.model_copy(update={"redriven_at": event.redriven_at,
                                               "redriven_by": event.redriven_by,
                                               "redriven_to": event.topic}))
        return True
    letter_id = dead_letter_id(event)
    key = _RECORD + letter_id
    record = tx.load(key, DeadLetterRecord) or DeadLetterRecord(id=letter_id)
    if record.letter is not None:
        before = datetime.fromisoformat(str(record.letter["failed_at"]).replace("Z", "+00:00"))
        if before > event.failed_at:
            return False
        tx.delete(_index_key(before, letter_id))
        _count(tx, record.letter, -1)
    written = event.model_dump(mode="json")
    _count(tx, written, 1)
    tx.save(key, record.model_copy(update={"letter": written}))
    tx.put(_index_key(event.failed_at, letter_id), b"")
    return True


class DeadLetterFilter(BaseModel):
    """Which dead letters a list shows; every field narrows it."""

    topic: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    redriven: bool | None = None

    def keeps(self, record: DeadLetterRecord) -> bool:
        """Whether ``record`` passes the topic, reason and redrive conditions."""
        letter = record.letter or {}
        return ((self.topic is None or letter.get("topic") == self.topic)
                and (self.reason is None or letter.get("reason") == self.reason)
                and (self.redriven is None or (record.redriven_at is not None) == self.redriven))


def page_dead_letters(reader: ScanReader, where: DeadLetterFilter, *, limit: int,
                      cursor: str | None = None,
                      keep: Callable[[DeadLetterRecord], bool] = lambda _: True,
                      ) -> tuple[list[DeadLetterRecord], str | None]:
    """Up to ``limit`` letters matching ``where``, newest refusal first.

    Args:
        cursor: The ``next_cursor`` of the previous page (an index key).

    Returns:
        The records and the cursor of the next page (None on the last one).
    """
    start = cursor
    if start is None and where.until is not None:
        start = f"{_BY_TIME}{time_key(where.until)}/\uffff"
    floor = None if where.since is None else f"{_BY_TIME}{time_key(where.since)}"
    found: list[DeadLetterRecord] = []
    last = start  # the last index key looked at: where the next page resumes
    for key, _ in reader.scan(_BY_TIME, start_after=start, reverse=True):
        if floor is not None and key < floor:
            break
        if len(found) == limit:
            return found, last
        data = reader.get(_RECORD + key.rsplit("/", 1)[1])
        if data is None:
            continue
        record = DeadLetterRecord.model_validate_json(data)
        last = key
        if where.keeps(record) and keep(record):
            found.append(record)
    return found, None


def read_dead_letter(reader: ScanReader, letter_id: str) -> DeadLetterRecord | None:
    """One dead letter by id, or None."""
    data = reader.get(_RECORD + letter_id)
    return None if data is None else DeadLetterRecord.model_validate_json(data)
