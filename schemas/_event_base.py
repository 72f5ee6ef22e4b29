"""The fields every event on ``hw.executions`` carries (executions' and gates' alike).

Its own module so that `schemas.gates` and `schemas.executions` can both build on it; the
public name is `schemas.executions.ExecutionEventBase`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from schemas.commands import UtcDatetime

__all__ = ["ExecutionEventBase"]


class ExecutionEventBase(BaseModel):
    """Fields every execution event carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    execution_id: str
    seq: int = Field(ge=1)
    time: UtcDatetime
    command_id: str
