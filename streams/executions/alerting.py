"""Which alert records an execution's new events cause (pure: no Kafka, no clock).

A failed execution of a workflow with ``monitoring.alert_on_failure`` raises an alert, a
completed one resolves it; deduplication is the fold of ``hw.alerts`` (`schemas.alerts`), so
the processor needs no state across executions (which live on other partitions).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from schemas.alerts import AlertRaised, AlertResolved, alert_key
from schemas.definitions import WorkflowDefinition
from schemas.executions import ExecutionCompleted, ExecutionEventBase, ExecutionFailed
from streams.runtime.outgoing import Outgoing

__all__ = ["alert_records"]


def alert_records(events: Iterable[ExecutionEventBase],
                  definition: WorkflowDefinition | None) -> list[Outgoing]:
    """The raises and resolves that `events` of one execution of `definition` cause."""
    if definition is None or not definition.monitoring.alert_on_failure:
        return []
    key = alert_key(definition.id)
    channels = tuple(definition.monitoring.alert_channels)
    out: list[Outgoing] = []
    for event in events:
        common: dict[str, Any] = {"key": key, "workflow_id": definition.id, "execution_id": event.execution_id,
                  "channels": channels, "time": event.time}
        if isinstance(event, ExecutionFailed):
            out.append(Outgoing("alerts", key, AlertRaised(
                **common, error_code=event.error.code, message=event.error.message[:1000])))
        elif isinstance(event, ExecutionCompleted):
            out.append(Outgoing("alerts", key, AlertResolved(**common)))
    return out
