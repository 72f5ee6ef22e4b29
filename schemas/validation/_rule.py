"""Validation of automation rules beyond their schema."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from schemas.definitions import (
    AbsencePattern,
    CallWebhook,
    PublishEvent,
    RuleDefinition,
    SequencePattern,
    SignalExecution,
    StartWorkflow,
    is_version_range,
)
from schemas.validation._expressions import ExpressionChecker
from schemas.validation._report import Problem, ValidationReport
from schemas.validation._schema_errors import validate_model
from schemas.validation._secrets import check_secrets

CONDITION_NAMES = frozenset({"event"})
ACTION_NAMES = frozenset({"event", "events", "now"})
"""Names an action mapping may read: the event, all matched events (patterns, batches), now."""
_FIELD_PATH = re.compile(r"^[A-Za-z_$][\w$-]*(?:\.[\w$-]+)*$")


def validate_rule(data: Mapping[str, Any]) -> ValidationReport:
    """Validate an authored automation rule: schema first, then meaning. Never raises."""
    return validate_model(RuleDefinition, check_rule, data, "a rule")


def check_rule(rule: RuleDefinition) -> tuple[list[Problem], list[Problem]]:
    """The checks of a structurally valid rule: (errors, warnings)."""
    checker = ExpressionChecker()
    if rule.conditions is not None:
        checker.condition(rule.conditions, "$.conditions", CONDITION_NAMES)
    _check_pattern(rule, checker)
    for i, action in enumerate(rule.actions):
        _check_action(action, f"$.actions[{i}]", checker)
    if rule.batch is not None and rule.execution_mode != "batch":
        checker.warnings.append(
            Problem("$.batch", "ignored_field", "`batch` applies when execution_mode is batch")
        )
    if (
        rule.type == "trigger"
        and rule.trigger.event_type == "*"
        and rule.conditions is None
        and rule.pattern is None
    ):
        checker.warnings.append(
            Problem("$.trigger.event_type", "matches_everything", "this rule fires on every event")
        )
    if rule.timeout is not None:  # removed: read in old definitions, refused in new ones
        checker.errors.append(
            Problem("$.timeout", "removed_field", "a rule's timeout was removed: its actions "
                    "are executions, bounded by the started workflow's timeout and the "
                    "webhook's retries; GET /rules/{id}/firings shows the ones still pending")
        )
    checker.errors += check_secrets(rule)
    return sorted(checker.errors), sorted(checker.warnings)


def _check_pattern(rule: RuleDefinition, checker: ExpressionChecker) -> None:
    pattern = rule.pattern
    if pattern is None:
        return
    if not _FIELD_PATH.match(pattern.correlate_by):
        checker.errors.append(
            Problem(
                "$.pattern.correlate_by",
                "invalid_field",
                f"{pattern.correlate_by!r} is not a field path",
            )
        )
    if isinstance(pattern, SequencePattern):
        for i, condition in enumerate(pattern.steps):
            checker.condition(condition, f"$.pattern.steps[{i}]", CONDITION_NAMES)
    elif isinstance(pattern, AbsencePattern):
        checker.condition(pattern.first, "$.pattern.first", CONDITION_NAMES)
        checker.condition(pattern.then, "$.pattern.then", CONDITION_NAMES)


def _check_action(action: Any, path: str, checker: ExpressionChecker) -> None:
    if isinstance(action, StartWorkflow):
        checker.mapping(action.input, f"{path}.input", ACTION_NAMES)
        if not is_version_range(action.version):
            checker.errors.append(
                Problem(
                    f"{path}.version",
                    "invalid_version_range",
                    f"{action.version!r} is not a version range",
                )
            )
    elif isinstance(action, PublishEvent):
        checker.mapping(action.data, f"{path}.data", ACTION_NAMES)
        checker.mapping(action.subject, f"{path}.subject", ACTION_NAMES)
    elif isinstance(action, CallWebhook):
        checker.mapping(action.headers, f"{path}.headers", ACTION_NAMES)
        checker.mapping(action.body, f"{path}.body", ACTION_NAMES)
    elif isinstance(action, SignalExecution):
        checker.expression(action.execution_id, f"{path}.execution_id", ACTION_NAMES)
        checker.mapping(action.payload, f"{path}.payload", ACTION_NAMES)
