"""Secondary indexes of the executions view, so a filtered list reads only what it returns.

Every execution has one key in each index, ordered by start time then id (lists scan them
backwards, newest first); the values are empty, the summary stays at ``x/<id>``:

* ``xi/<started>/<id>``: every execution;
* ``xiw/<workflow>/<started>/<id>``: by workflow;
* ``xis/<status>/<started>/<id>``: by current status;
* ``xiws/<workflow>/<status>/<started>/<id>``: by workflow and status.

A status change moves the execution's key in the status indexes (delete the old, put the
new) in the same batch as the summary, so an index never disagrees with the summaries, and
since the keys are a function of the summary alone a rebuilt view has the same keys. The
workflow id is percent-encoded (when it holds ``/`` or ``%``): an id containing ``/`` cannot
run into another's prefix.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from projections.views._tx import Tx, time_key
from projections.views.executions import ExecutionSummary

__all__ = ["ALL_PREFIX", "CURSOR_PATTERN", "execution_of", "index_keys", "index_prefix",
           "update_indexes"]

ALL_PREFIX = "xi/"
_BY_WORKFLOW = "xiw/"
_BY_STATUS = "xis/"
_BY_BOTH = "xiws/"

CURSOR_PATTERN = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/.+$")
"""What a list cursor looks like: ``<started>/<execution id>`` (the tail of an index key)."""


def _workflow(workflow_id: str) -> str:
    return quote(workflow_id, safe="") if "/" in workflow_id or "%" in workflow_id else workflow_id


def index_prefix(workflow_id: str | None, status: str | None) -> str:
    """The prefix of the narrowest index for a filter on workflow and/or status."""
    if workflow_id is not None and status is not None:
        return f"{_BY_BOTH}{_workflow(workflow_id)}/{quote(status, safe='')}/"
    if workflow_id is not None:
        return f"{_BY_WORKFLOW}{_workflow(workflow_id)}/"
    if status is not None:
        return f"{_BY_STATUS}{quote(status, safe='')}/"
    return ALL_PREFIX


def index_keys(summary: ExecutionSummary) -> set[str]:
    """The execution's key in every index."""
    tail = f"{time_key(summary.started_at)}/{summary.execution_id}"
    return {index_prefix(w, s) + tail for w, s in (
        (None, None), (summary.workflow_id, None), (None, summary.status),
        (summary.workflow_id, summary.status))}


def update_indexes(tx: Tx, before: ExecutionSummary | None, after: ExecutionSummary) -> None:
    """Move the execution's index keys from what ``before`` says to what ``after`` says."""
    if before is not None and (before.status, before.workflow_id, before.started_at) == (
            after.status, after.workflow_id, after.started_at):
        return  # most events: nothing an index holds changed
    old = set() if before is None else index_keys(before)
    new = index_keys(after)
    for key in old - new:
        tx.delete(key)
    for key in new - old:
        tx.put(key, b"")


def execution_of(tail: str) -> str:
    """The execution id in an index key's tail (``<started>/<id>``)."""
    return tail.split("/", 1)[1]
