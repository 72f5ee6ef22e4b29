"""A definition's history from ``hw.definitions``: who published each version and why, status
changes, and comments, in time order.

Key ``dhist/<kind>/<id>/<time>/<what>`` where ``what`` names the event (``p@<version>``,
``s@<version>@<status>``, ``c/<comment id>``): a redelivered event lands on its own key
again, so the fold is idempotent, and any interleaving stores the same keys. A comment
written twice under one id (a client's repeat) is kept once, at its first time
(``dhistc/<kind>/<id>/<comment id>`` remembers where).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from projections.views._tx import ScanReader, Tx, time_key
from schemas.definition_events import (
    DefinitionCommented,
    DefinitionPublished,
    DefinitionStatusChanged,
)

__all__ = ["HistoryEntry", "apply_history_event", "page_history"]

_PREFIX = "dhist/"
_SEEN = "dhistc/"


class HistoryEntry(BaseModel):
    """One thing that happened to a definition.

    Attributes:
        event: ``published``, ``status_changed`` or ``commented``.
        version: The version it concerns (None: a comment on the whole definition).
        by: Who did it, if known.
        text: The publish reason, the status change's reason, or the comment.
        status: The status published with or moved to (None for a comment).
        comment_id: For a comment, its id.
    """

    event: Literal["published", "status_changed", "commented"]
    at: datetime
    version: str | None
    by: str | None = None
    text: str = ""
    status: str | None = None
    previous_status: str | None = None
    checksum: str | None = None
    comment_id: str | None = None


def _prefix(kind: str, definition_id: str) -> str:
    return f"{_PREFIX}{kind}/{definition_id.replace('%', '%25').replace('/', '%2F')}/"


def apply_history_event(tx: Tx, event: DefinitionPublished | DefinitionStatusChanged
                        | DefinitionCommented) -> None:
    """Record one definition event in its definition's history."""
    base = _prefix(event.kind, event.definition_id)
    if isinstance(event, DefinitionPublished):
        entry = HistoryEntry(event="published", at=event.published_at, version=event.version,
                             by=event.published_by, text=event.reason, status=event.status,
                             checksum=event.checksum)
        what = f"p@{event.version}"
    elif isinstance(event, DefinitionStatusChanged):
        entry = HistoryEntry(event="status_changed", at=event.changed_at, version=event.version,
                             by=event.changed_by, text=event.reason, status=event.status,
                             previous_status=event.previous_status)
        what = f"s@{event.version}@{event.status}"
    else:
        entry = HistoryEntry(event="commented", at=event.commented_at, version=event.version,
                             by=event.author, text=event.text, comment_id=event.comment_id)
        what = f"c/{event.comment_id}"
        if not _first_of_comment(tx, base, event.comment_id, f"{time_key(entry.at)}/{what}"):
            return
    tx.save(f"{base}{time_key(entry.at)}/{what}", entry)


def _first_of_comment(tx: Tx, base: str, comment_id: str, suffix: str) -> bool:
    """Whether this is the earliest write of a comment (a client's repeat of one comment, same
    id, later time, is dropped; an earlier one met later replaces it: any order, one entry)."""
    marker = f"{_SEEN}{base.removeprefix(_PREFIX)}{comment_id}"
    seen = tx.load(marker, _Seen)
    if seen is not None and seen.suffix <= suffix:
        return False
    if seen is not None:
        tx.delete(base + seen.suffix)
    tx.save(marker, _Seen(suffix=suffix))
    return True


class _Seen(BaseModel):
    suffix: str


def page_history(reader: ScanReader, kind: str, definition_id: str, *, limit: int,
                 cursor: str | None = None,
                 keep: Callable[[HistoryEntry], bool] = lambda _: True,
                 ) -> tuple[list[HistoryEntry], str | None]:
    """Up to ``limit`` entries ``keep`` accepts, oldest first, after ``cursor``.

    Returns:
        The entries and the cursor of the next page (None on the last one).
    """
    prefix = _prefix(kind, definition_id)
    start = None if cursor is None else prefix + cursor
    found: list[HistoryEntry] = []
    last: str | None = None
    for key, value in reader.scan(prefix, start_after=start):
        if len(found) == limit:
            return found, last
        last = key.removeprefix(prefix)
        entry = HistoryEntry.model_validate_json(value)
        if keep(entry):
            found.append(entry)
    return found, None
