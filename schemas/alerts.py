"""Alerts on ``hw.alerts``: a workflow's execution failed, and later, it succeeds again.

Keyed by the alert's key (``workflow:<id>``), so one workflow's alerts are in order on one
partition. The execution processor writes a raise for every failed execution of a workflow
with ``monitoring.alert_on_failure`` and a resolve for every completed one; what is *open* is
a fold of the topic (`open_alerts`): a raise opens the key (a second raise while open is a
duplicate), a resolve closes it (a resolve of a closed key is nothing). The sender and any
analytics consumer apply the same fold, so each delivers one alert per incident and one
resolve when it ends.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime

__all__ = ["ALERT_TYPES", "AlertRaised", "AlertResolved", "alert_key"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


def alert_key(workflow_id: str) -> str:
    """The key of a workflow's failure alerts."""
    return f"workflow:{workflow_id}"


class _AlertBase(BaseModel):
    """What every alert record carries.

    Attributes:
        key: What the alert is about (the Kafka key): ``workflow:<id>``.
        workflow_id: The workflow.
        execution_id: The execution that failed (raise) or succeeded (resolve).
        channels: The channel names of the workflow's ``monitoring.alert_channels``.
        time: When the execution ended.
    """

    model_config = _FROZEN

    key: str = Field(min_length=1)
    workflow_id: str
    execution_id: str
    channels: tuple[str, ...] = ()
    time: UtcDatetime


class AlertRaised(_AlertBase):
    """An execution failed.

    Attributes:
        error_code: Its error code.
        message: Its error message.
    """

    type: Literal["alert_raised"] = "alert_raised"
    error_code: str = ""
    message: str = ""


class AlertResolved(_AlertBase):
    """An execution of the workflow completed: a raised alert, if open, is resolved."""

    type: Literal["alert_resolved"] = "alert_resolved"


ALERT_TYPES: tuple[type[BaseModel], ...] = (AlertRaised, AlertResolved)
