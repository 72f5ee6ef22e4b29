"""Alerts on ``hw.alerts``: something is wrong (raised), and later, it is not (resolved).

Keyed by what the alert is about, so one subject's alerts are in order on one partition:

* ``workflow:<id>``: an execution of a workflow with ``monitoring.alert_on_failure`` failed
  (condition ``execution_failed``), written by the execution processor; a completed
  execution resolves it;
* ``failure-rate:<workflow id>``: the workflow's failure rate over a window went over a bound
  (``workflow_failure_rate``);
* ``dead-letters``: dead letters grew by more than a bound over a window (``dead_letters``);
* ``projection-lag``: the API's views are more records behind the log than a bound
  (``projection_lag``);
* ``rule-actions:<rule id>``: the share of a rule's actions that failed over a window went over
  a bound (``rule_actions_failing``).

The last four are written by the API's monitor (``projections.watch``) when the condition
starts and stops holding. What is *open* is a fold of the topic (`OpenAlerts` in the sender): a
raise opens the key (a second raise while open is a duplicate), a resolve closes it (a resolve
of a closed key is nothing). The sender and any analytics consumer apply the same fold, so each
delivers one alert per incident and one resolve when it ends.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime

__all__ = ["ALERT_TYPES", "CONDITIONS", "AlertRaised", "AlertResolved", "alert_key"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

CONDITIONS = ("execution_failed", "workflow_failure_rate", "dead_letters", "projection_lag",
              "rule_actions_failing")
"""What an alert can be about (the ``condition`` field)."""


def alert_key(workflow_id: str) -> str:
    """The key of a workflow's failure alerts."""
    return f"workflow:{workflow_id}"


class _AlertBase(BaseModel):
    """What every alert record carries.

    Attributes:
        key: What the alert is about (the Kafka key), e.g. ``workflow:<id>``.
        workflow_id: The workflow (execution and failure-rate alerts; empty otherwise).
        execution_id: The execution that failed (raise) or succeeded (resolve), for
            ``execution_failed``; empty otherwise.
        channels: The channel names to deliver to (a workflow's
            ``monitoring.alert_channels``, or the condition's ``channels``).
        time: When the execution ended, or when the monitor saw the condition change.
        condition: What the alert is about (one of ``CONDITIONS``).
        rule_id: The rule (``rule_actions_failing``; empty otherwise).
        value: The measured value (a rate, a count of records), for the monitor's conditions.
        threshold: The bound it was compared with.
        summary: One line saying what was measured, for people.
    """

    model_config = _FROZEN

    key: str = Field(min_length=1)
    workflow_id: str = ""
    execution_id: str = ""
    channels: tuple[str, ...] = ()
    time: UtcDatetime
    condition: str = "execution_failed"
    rule_id: str = ""
    value: float | None = None
    threshold: float | None = None
    summary: str = ""


class AlertRaised(_AlertBase):
    """Something went wrong: an execution failed, or a condition started holding.

    Attributes:
        error_code: The execution's error code.
        message: The execution's error message.
    """

    type: Literal["alert_raised"] = "alert_raised"
    error_code: str = ""
    message: str = ""


class AlertResolved(_AlertBase):
    """It is over: an execution of the workflow completed, or the condition stopped holding."""

    type: Literal["alert_resolved"] = "alert_resolved"


ALERT_TYPES: tuple[type[BaseModel], ...] = (AlertRaised, AlertResolved)
