"""Validation of workflow definitions beyond their schema."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from schemas.definitions import (
    ActionStep,
    ConditionStep,
    EventTrigger,
    LoopStep,
    ParallelStep,
    ScheduleTrigger,
    SubprocessStep,
    WaitStep,
    WebhookTrigger,
    WorkflowDefinition,
    is_version_range,
)
from schemas.validation._expressions import ExpressionChecker
from schemas.validation._graph import FlowGraph, Node
from schemas.validation._report import Problem, ValidationReport
from schemas.validation._schema_errors import validate_model
from schemas.validation._secrets import check_secrets

STEP_NAMES = frozenset({"input", "vars", "steps", "execution", "now", "event", "error"})
"""Names every step expression may read; loop bodies add `item` and `index`."""
LOOP_NAMES = frozenset({"item", "index"})
START_NAMES = frozenset({"input", "execution", "event", "now"})
TRIGGER_NAMES = frozenset({"event", "now"})
# Built-in actions and the `with` keys they cannot do without.
_REQUIRED_PARAMS = {"http": ("url",), "publish": ("event_type",)}


def validate_workflow(data: Mapping[str, Any]) -> ValidationReport:
    """Validate an authored workflow (parsed YAML/JSON): schema first, then meaning.

    Never raises: every problem is in the report. The cross-reference checks (flow,
    expressions, variables) run once the structure is valid.
    """
    return validate_model(WorkflowDefinition, check_workflow, data, "a workflow")


def check_workflow(workflow: WorkflowDefinition) -> tuple[list[Problem], list[Problem]]:
    """The cross-reference checks of a structurally valid workflow: (errors, warnings)."""
    graph = FlowGraph(workflow)
    checker = ExpressionChecker(graph, workflow.variables.keys())
    errors, warnings = checker.errors, checker.warnings
    errors += graph.errors
    warnings += graph.warnings
    _check_entry_points(workflow, graph, errors, warnings)
    checker.mapping(workflow.variables, "$.variables", START_NAMES)
    _check_triggers(workflow, checker)
    for node in graph.nodes:
        _check_step(workflow, graph, node, checker)
    everything = STEP_NAMES - {"error"}
    checker.mapping(workflow.outputs, "$.outputs", everything, None)
    errors += check_secrets(workflow, graph)
    warnings += _no_effect(workflow)
    errors += _removed(workflow)
    return sorted(errors), sorted(warnings)


def _no_effect(workflow: WorkflowDefinition) -> list[Problem]:
    """Fields that do nothing where they are: said, not silently ignored (docs/architecture.md,
    "Fields without effect")."""
    monitoring = workflow.monitoring
    if monitoring.alert_channels and not monitoring.alert_on_failure:
        return [Problem("$.monitoring.alert_channels", "no_effect",
                        "alert_channels applies when alert_on_failure is true")]
    return []


def _removed(workflow: WorkflowDefinition) -> list[Problem]:
    """Fields removed from the language: a definition published before still loads (the model
    reads them), a new one may not set them (docs/architecture.md, "Fields without effect")."""
    if workflow.permissions:
        return [Problem("$.permissions", "removed_field",
                        "permissions was removed: who may see, edit and run a workflow is its "
                        "owner, collaborators and visibility with the API's roles (docs/api.md)")]
    return []


def _check_entry_points(
    workflow: WorkflowDefinition, graph: FlowGraph, errors: list[Problem], warnings: list[Problem]
) -> None:
    top = {step.id for step in workflow.steps}
    if workflow.start_at is not None:
        if workflow.start_at not in top:
            errors.append(
                Problem(
                    "$.start_at", "unknown_step", f"no top-level step has id {workflow.start_at!r}"
                )
            )
        elif workflow.execution_mode != "sequential":
            warnings.append(
                Problem("$.start_at", "ignored_field", "`start_at` applies to sequential workflows")
            )
    goto = workflow.on_error.goto
    if goto is not None and goto not in top:
        errors.append(
            Problem("$.on_error.goto", "unknown_step", f"no top-level step has id {goto!r}")
        )
    for node in graph.nodes:
        if node.step.depends_on and (
            node.scope.kind != "top" or workflow.execution_mode != "hybrid"
        ):
            warnings.append(
                Problem(
                    f"{node.path}.depends_on",
                    "ignored_field",
                    "`depends_on` applies to top-level steps of a hybrid workflow",
                )
            )


def _check_triggers(workflow: WorkflowDefinition, checker: ExpressionChecker) -> None:
    for i, trigger in enumerate(workflow.triggers):
        path = f"$.triggers[{i}]"
        if isinstance(trigger, EventTrigger) and trigger.condition is not None:
            checker.condition(trigger.condition, f"{path}.condition", frozenset({"event"}))
        if isinstance(trigger, EventTrigger | WebhookTrigger | ScheduleTrigger):
            checker.mapping(trigger.input, f"{path}.input", TRIGGER_NAMES)


def _in_loop(graph: FlowGraph, node: Node) -> bool:
    scope = node.scope
    while scope.container is not None:
        if scope.kind == "loop":
            return True
        scope = graph.nodes[scope.container].scope
    return False


def _check_step(
    workflow: WorkflowDefinition, graph: FlowGraph, node: Node, checker: ExpressionChecker
) -> None:
    step, path = node.step, node.path
    names = STEP_NAMES | LOOP_NAMES if _in_loop(graph, node) else STEP_NAMES
    upstream = graph.upstream[node.index]
    finished = upstream | (1 << node.index) | node.descendants
    checker.mapping(step.input, f"{path}.input", names, upstream)
    checker.mapping(step.output, f"{path}.output", names | {"output"}, finished)
    if (
        workflow.timeout is not None
        and step.timeout is not None
        and step.timeout > workflow.timeout
    ):
        checker.warnings.append(
            Problem(
                f"{path}.timeout",
                "timeout_exceeds_workflow",
                "the step may run longer than the workflow may",
            )
        )
    if isinstance(step, ActionStep):
        _check_action(step, path, names, upstream, checker)
    elif isinstance(step, ConditionStep):
        for j, branch in enumerate(step.branches):
            checker.expression(branch.when, f"{path}.branches[{j}].when", names, upstream)
    elif isinstance(step, LoopStep):
        if step.for_each is not None:
            checker.expression(step.for_each, f"{path}.for_each", names, upstream)
        if step.while_ is not None:
            checker.expression(step.while_, f"{path}.while", names | {"index"}, finished)
    elif isinstance(step, ParallelStep):
        _check_parallel(step, path, checker)
    elif isinstance(step, SubprocessStep):
        _check_subprocess(workflow, step, path, checker)
    elif isinstance(step, WaitStep):
        _check_wait(step, path, names, upstream, checker)


def _check_action(
    step: ActionStep, path: str, names: frozenset[str], upstream: int, checker: ExpressionChecker
) -> None:
    checker.mapping(step.params, f"{path}.with", names, upstream)
    params = step.params if isinstance(step.params, dict) else {}
    for key in _REQUIRED_PARAMS.get(step.action, ()):
        if key not in params:
            checker.warnings.append(
                Problem(f"{path}.with", "missing_param", f"the {step.action} action needs `{key}`")
            )


def _check_parallel(step: ParallelStep, path: str, checker: ExpressionChecker) -> None:
    if len(step.branches) == 1:
        checker.warnings.append(
            Problem(
                f"{path}.branches",
                "single_branch",
                "a parallel step with one branch runs nothing at once",
            )
        )
    seen: set[str] = set()
    for j, branch in enumerate(step.branches):
        if branch.name in seen:
            checker.errors.append(
                Problem(
                    f"{path}.branches[{j}].name",
                    "duplicate_branch",
                    f"branch name {branch.name!r} is used twice",
                )
            )
        seen.add(branch.name)


def _check_subprocess(
    workflow: WorkflowDefinition, step: SubprocessStep, path: str, checker: ExpressionChecker
) -> None:
    if step.workflow_id == workflow.id:
        checker.errors.append(
            Problem(
                f"{path}.workflow_id",
                "self_subprocess",
                "a workflow cannot start itself as a subprocess",
            )
        )
    if not is_version_range(step.version):
        checker.errors.append(
            Problem(
                f"{path}.version",
                "invalid_version_range",
                f"{step.version!r} is not a version range like ^1.2",
            )
        )


def _check_wait(
    step: WaitStep, path: str, names: frozenset[str], upstream: int, checker: ExpressionChecker
) -> None:
    if step.until is not None and not _is_iso_time(step.until):
        checker.expression(step.until, f"{path}.until", names, upstream)
    if step.event is not None:
        checker.expression(step.event.correlation, f"{path}.event.correlation", names, upstream)
    if (step.signal is not None or step.event is not None) and step.timeout is None:
        checker.warnings.append(
            Problem(
                f"{path}.timeout", "unbounded_wait", "without a timeout this step may wait forever"
            )
        )


def _is_iso_time(text: str) -> bool:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return parsed.tzinfo is not None
