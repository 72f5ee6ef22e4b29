"""The views: pure folds of the event log, and the reads over them.

Nothing here touches Kafka, a clock or the disk: folds write through a ``Tx`` and the
projector commits its changes together with the offsets they came from.
"""

from projections.views._tx import Reader, ScanReader, Tx
from projections.views.bodies import newest_active, read_body, read_route
from projections.views.dashboard import Dashboard, HourBucket, read_dashboard
from projections.views.definitions import DefinitionRecord, VersionView, read_definitions
from projections.views.executions import Attempt, ExecutionDetail, ExecutionSummary, StepView
from projections.views.fold import apply_event, fold
from projections.views.listing import (
    ExecutionFilter,
    ExecutionPage,
    ExecutionView,
    execution_json,
    get_execution,
    list_executions,
    list_executions_json,
    valid_cursor,
)
from projections.views.rule_stats import LastError, LastMatch, RuleStats, read_rule_stats
from projections.views.sketch import Sketch
from projections.views.workflow_stats import WorkflowStats, read_workflow_stats, success_rate

__all__ = [
    "Attempt",
    "Dashboard",
    "DefinitionRecord",
    "ExecutionDetail",
    "ExecutionFilter",
    "ExecutionPage",
    "ExecutionSummary",
    "ExecutionView",
    "HourBucket",
    "LastError",
    "LastMatch",
    "Reader",
    "RuleStats",
    "ScanReader",
    "Sketch",
    "StepView",
    "Tx",
    "VersionView",
    "WorkflowStats",
    "apply_event",
    "execution_json",
    "fold",
    "get_execution",
    "list_executions",
    "list_executions_json",
    "newest_active",
    "read_body",
    "read_dashboard",
    "read_definitions",
    "read_route",
    "read_rule_stats",
    "read_workflow_stats",
    "success_rate",
    "valid_cursor",
]
