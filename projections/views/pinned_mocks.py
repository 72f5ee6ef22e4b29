"""The pinned mocks view from ``hw.definitions``: ``mocks/<workflow id>`` holds the newest set
of each workflow's pinned test-run answers (a redelivered or older set changes nothing)."""

from __future__ import annotations

from projections.views._tx import Reader, Tx
from schemas.pinned_mocks import MocksPinned

__all__ = ["apply_mocks_event", "read_mocks"]

_RECORD = "mocks/"


def apply_mocks_event(tx: Tx, event: MocksPinned) -> bool:
    """Fold one set of pinned mocks; True when the view changed."""
    current = tx.load(_RECORD + event.workflow_id, MocksPinned)
    if current is not None and current.pinned_at >= event.pinned_at:
        return False
    tx.save(_RECORD + event.workflow_id, event)
    return True


def read_mocks(reader: Reader, workflow_id: str) -> MocksPinned | None:
    """A workflow's pinned mocks, or None when none were ever pinned."""
    data = reader.get(_RECORD + workflow_id)
    return None if data is None else MocksPinned.model_validate_json(data)
