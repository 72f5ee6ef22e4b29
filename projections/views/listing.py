"""Reading the executions view: filtered, paginated lists and the full detail of one.

Lists walk the narrowest secondary index for the filter (see ``indexes``), so filtering by
workflow or status reads only matching executions; version and trigger type are checked on
the summaries met. Reads can also hand back the stored JSON as it is (``*_json``), which
the HTTP API sends without decoding and encoding every record again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel

from projections.views._tx import ScanReader, canonical_json, time_key
from projections.views.executions import (
    ExecutionDetail,
    ExecutionSummary,
    detail_key,
    read_detail,
    read_summary,
    summary_key,
    timeline_prefix,
)
from projections.views.indexes import CURSOR_PATTERN, execution_of, index_prefix

__all__ = ["TIMELINE_LIMIT", "ExecutionFilter", "ExecutionPage", "ExecutionView",
           "execution_json", "get_execution", "list_executions", "list_executions_json",
           "valid_cursor"]

TIMELINE_LIMIT = 1000
"""Timeline events a detail answers with by default; ``timeline_next`` pages on."""


class ExecutionFilter(BaseModel):
    """Which executions to list; every field set must match.

    Attributes:
        started_after: Started at or after this time.
        started_before: Started strictly before this time.
    """

    workflow_id: str | None = None
    workflow_version: str | None = None
    status: str | None = None
    trigger_type: str | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None

    def matches(self, summary: ExecutionSummary) -> bool:
        """Whether ``summary`` passes every condition set."""
        return self.matches_json(summary.model_dump(include=set(_FILTERED)))

    def matches_json(self, summary: dict[str, Any]) -> bool:
        """Whether a summary decoded from its JSON passes every condition set."""
        return all(want is None or want == summary.get(name)
                   for name, want in zip(_FILTERED, (self.workflow_id, self.workflow_version,
                                                     self.status, self.trigger_type),
                                         strict=True))


_FILTERED = ("workflow_id", "workflow_version", "status", "trigger_type")


class ExecutionPage(BaseModel):
    """One page of executions, newest first.

    Attributes:
        next_cursor: Pass it back as ``cursor`` for the next page; None on the last one.
    """

    items: list[ExecutionSummary]
    next_cursor: str | None = None


class ExecutionView(BaseModel):
    """Everything about one execution: summary, variables, steps and its timeline.

    Attributes:
        timeline: The events in order, from ``timeline_after`` on, at most the limit asked.
        timeline_next: Pass it as ``timeline_after`` for the rest; None once complete.
    """

    summary: ExecutionSummary
    detail: ExecutionDetail
    timeline: list[dict[str, Any]]
    timeline_next: int | None = None


def valid_cursor(cursor: str) -> bool:
    """Whether ``cursor`` has the shape of a ``next_cursor`` (``<started>/<execution id>``)."""
    return CURSOR_PATTERN.match(cursor.removeprefix("xi/")) is not None


Visible = Callable[[str], bool]
"""Whether the caller may view executions of a workflow (given its id)."""


def _rows(reader: ScanReader, where: ExecutionFilter, limit: int, cursor: str | None,
          visible: Visible | None) -> Iterator[bytes | str]:
    """The stored JSON of matching summaries; a final ``str`` is the next cursor.

    The index already holds workflow and status, so a summary is decoded (as plain JSON,
    no model built) only when version, trigger type or access remain to be checked: that
    decoding was most of a list's time.
    """
    check = visible is not None or where.workflow_version is not None or (
        where.trigger_type is not None)
    prefix = index_prefix(where.workflow_id, where.status)
    start = None if cursor is None else prefix + cursor.removeprefix("xi/")
    if start is None and where.started_before is not None:
        start = prefix + time_key(where.started_before)
    floor = None if where.started_after is None else prefix + time_key(where.started_after)
    found, last_key = 0, ""
    for key, _ in reader.scan(prefix, start_after=start, reverse=True):
        if floor is not None and key < floor:
            return
        if found == max(limit, 1):
            yield last_key[len(prefix):]
            return
        last_key = key
        raw = reader.get(summary_key(execution_of(key[len(prefix):])))
        if raw is None:
            continue
        if check:
            summary = orjson.loads(raw)
            if not where.matches_json(summary) or not (
                    visible is None or visible(summary["workflow_id"])):
                continue
        found += 1
        yield raw


def list_executions(reader: ScanReader, where: ExecutionFilter, *, limit: int = 50,
                    cursor: str | None = None, visible: Visible | None = None) -> ExecutionPage:
    """Executions matching ``where``, newest start first, at most ``limit`` of them.

    Args:
        reader: The view store.
        where: The filter.
        limit: Page size (at least 1).
        cursor: ``next_cursor`` of the previous page, to continue from it.
        visible: Only executions of workflows it accepts are listed (the caller's access);
            a page is still filled up to ``limit`` from the ones it accepts.
    """
    items: list[ExecutionSummary] = []
    for row in _rows(reader, where, limit, cursor, visible):
        if isinstance(row, str):
            return ExecutionPage(items=items, next_cursor=row)
        items.append(ExecutionSummary.model_validate_json(row))
    return ExecutionPage(items=items)


def list_executions_json(reader: ScanReader, where: ExecutionFilter, *, limit: int = 50,
                         cursor: str | None = None, visible: Visible | None = None) -> bytes:
    """``list_executions`` as the JSON of an ``ExecutionPage``, built from the stored rows."""
    rows: list[bytes] = []
    next_cursor: str | None = None
    for row in _rows(reader, where, limit, cursor, visible):
        if isinstance(row, str):
            next_cursor = row
        else:
            rows.append(row)
    return b'{"items":[' + b",".join(rows) + b'],"next_cursor":' + orjson.dumps(next_cursor) + b"}"


def _timeline(reader: ScanReader, execution_id: str, after: int,
              limit: int) -> tuple[list[bytes], int | None]:
    prefix = timeline_prefix(execution_id)
    events: list[bytes] = []
    start = f"{prefix}{after:012d}" if after > 0 else None
    last = after
    for key, value in reader.scan(prefix, start_after=start):
        if len(events) == limit:
            return events, last
        events.append(value)
        last = int(key[len(prefix):])
    return events, None


def get_execution(reader: ScanReader, execution_id: str, *, timeline_after: int = 0,
                  timeline_limit: int = TIMELINE_LIMIT) -> ExecutionView | None:
    """The full view of one execution, or None if the view has never seen it.

    Args:
        timeline_after: Only events with a higher ``seq`` (0: from the first).
        timeline_limit: Events at most; ``timeline_next`` says where the rest begins.
    """
    summary = read_summary(reader, execution_id)
    if summary is None:
        return None
    detail = read_detail(reader, execution_id) or ExecutionDetail()
    events, more = _timeline(reader, execution_id, timeline_after, timeline_limit)
    return ExecutionView(summary=summary, detail=detail,
                         timeline=[orjson.loads(e) for e in events], timeline_next=more)


def execution_json(reader: ScanReader, summary_json: bytes, execution_id: str, *,
                   timeline_after: int = 0, timeline_limit: int = TIMELINE_LIMIT) -> bytes:
    """``get_execution`` as the JSON of an ``ExecutionView``, built from the stored records.

    Args:
        summary_json: The stored summary (the caller read it to check access).
    """
    detail = reader.get(detail_key(execution_id)) or canonical_json(ExecutionDetail())
    events, more = _timeline(reader, execution_id, timeline_after, timeline_limit)
    return (b'{"summary":' + summary_json + b',"detail":' + detail + b',"timeline":['
            + b",".join(events) + b'],"timeline_next":' + orjson.dumps(more) + b"}")
