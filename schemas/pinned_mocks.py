"""Pinned test-run answers on ``hw.definitions``: the mocks a workflow's test panel keeps.

The designer's test runs (``POST /workflows/test``) answer each action from a mock the user
pinned on its step, as n8n pins data. Pinned on the server, per workflow, they survive a
reload and every designer of the workflow sees the same ones. Keyed
``workflow:<id>#mocks`` so that compaction keeps the latest set of each workflow; the engine
reads past them (they define nothing to run).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime

__all__ = ["MocksPinned", "mocks_key"]


def mocks_key(workflow_id: str) -> str:
    """The Kafka key of a workflow's pinned mocks."""
    return f"workflow:{workflow_id}#mocks"


class MocksPinned(BaseModel):
    """The set of pinned mocks of a workflow's test panel was replaced (an empty set unpins all).

    Attributes:
        workflow_id: The workflow they belong to (every version: steps keep their ids).
        mocks: By step id, ``{"output": …}`` or ``{"error": {"code", "message", "retryable"}}``
            (``{}`` echoes), as ``POST /workflows/test`` takes them; validated by the API.
        pinned_by: Who saved this set, if known.
        pinned_at: When; the newest set wins.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["mocks_pinned"] = "mocks_pinned"
    workflow_id: str = Field(min_length=1)
    mocks: dict[str, Any]
    pinned_by: str | None = None
    pinned_at: UtcDatetime

    @property
    def key(self) -> str:
        """The Kafka key of this record: one per workflow."""
        return mocks_key(self.workflow_id)
