"""Reading the executions view: filtered, paginated lists and the full detail of one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from projections.views._tx import ScanReader, time_key
from projections.views.executions import (
    INDEX_PREFIX,
    ExecutionDetail,
    ExecutionSummary,
    read_detail,
    read_summary,
    read_timeline,
)

__all__ = ["ExecutionFilter", "ExecutionPage", "ExecutionView", "get_execution",
           "list_executions"]


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
        wanted: list[tuple[Any, Any]] = [
            (self.workflow_id, summary.workflow_id),
            (self.workflow_version, summary.workflow_version),
            (self.status, summary.status),
            (self.trigger_type, summary.trigger_type),
        ]
        return all(want is None or want == have for want, have in wanted)


class ExecutionPage(BaseModel):
    """One page of executions, newest first.

    Attributes:
        next_cursor: Pass it back as ``cursor`` for the next page; None on the last one.
    """

    items: list[ExecutionSummary]
    next_cursor: str | None = None


class ExecutionView(BaseModel):
    """Everything about one execution: summary, variables, steps and the whole timeline."""

    summary: ExecutionSummary
    detail: ExecutionDetail
    timeline: list[dict[str, Any]]


def list_executions(reader: ScanReader, where: ExecutionFilter, *, limit: int = 50,
                    cursor: str | None = None,
                    visible: Callable[[ExecutionSummary], bool] | None = None) -> ExecutionPage:
    """Executions matching ``where``, newest start first, at most ``limit`` of them.

    Args:
        reader: The view store.
        where: The filter.
        limit: Page size (at least 1).
        cursor: ``next_cursor`` of the previous page, to continue from it.
        visible: Only executions it accepts are listed (the caller's access); a page is
            still filled up to ``limit`` from the ones it accepts.
    """
    start = cursor
    if start is None and where.started_before is not None:
        start = f"{INDEX_PREFIX}{time_key(where.started_before)}"
    floor = None if where.started_after is None else f"{INDEX_PREFIX}{time_key(where.started_after)}"
    items: list[ExecutionSummary] = []
    last_key: str | None = None
    for key, _ in reader.scan(INDEX_PREFIX, start_after=start, reverse=True):
        if floor is not None and key < floor:
            return ExecutionPage(items=items)
        if len(items) == max(limit, 1):
            return ExecutionPage(items=items, next_cursor=last_key)
        last_key = key
        summary = read_summary(reader, key[len(INDEX_PREFIX):].split("/", 1)[1])
        if summary is not None and where.matches(summary) and (
                visible is None or visible(summary)):
            items.append(summary)
    return ExecutionPage(items=items)


def get_execution(reader: ScanReader, execution_id: str) -> ExecutionView | None:
    """The full view of one execution, or None if the view has never seen it."""
    summary = read_summary(reader, execution_id)
    if summary is None:
        return None
    detail = read_detail(reader, execution_id) or ExecutionDetail()
    return ExecutionView(summary=summary, detail=detail,
                         timeline=read_timeline(reader, execution_id))
