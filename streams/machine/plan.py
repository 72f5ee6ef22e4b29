"""A workflow definition compiled once into what `decide` needs per command.

The plan flattens the nested scopes (top level, loop bodies, parallel branches)
into a table keyed by a static scope id, resolves each step's default successor,
retry policy and error handling, and compiles every CEL expression and mapping.
An expression that does not compile becomes one that fails when evaluated, so a
bad definition fails the step that uses it instead of raising inside `decide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.definitions import (
    END,
    ActionStep,
    AnyStep,
    ConditionStep,
    ErrorHandling,
    LoopStep,
    ParallelStep,
    RetryPolicy,
    SubprocessStep,
    WaitStep,
    WorkflowDefinition,
)
from streams.machine.evaluable import Evaluable

__all__ = ["END", "Evaluable", "Plan", "ScopePlan", "StepPlan", "compile_plan", "parse_iso"]

_NO_ERROR_HANDLING = ErrorHandling()


def _mapping(source: Any) -> Evaluable | None:
    if source is None or source == {} or source == []:
        return None
    return Evaluable(source, mapping=True)


@dataclass(frozen=True, slots=True)
class StepPlan:
    """One step, with everything resolved that does not depend on the execution."""

    id: str
    type: str
    step: AnyStep
    scope: str
    next: str
    retry: RetryPolicy | None
    on_error: ErrorHandling
    input: Evaluable | None
    output: Evaluable | None
    params: Evaluable | None = None
    exprs: tuple[Evaluable, ...] = ()
    targets: tuple[str, ...] = ()
    children: tuple[str, ...] = ()

    @property
    def timeout(self) -> float | None:
        """The step timeout in seconds, if any."""
        return self.step.timeout


@dataclass(frozen=True, slots=True)
class ScopePlan:
    """A static scope: its steps in order and how they are scheduled.

    ``dag`` scopes (the top level in ``parallel`` and ``hybrid`` modes) start every
    step whose ``depends_on`` are done; other scopes follow ``next`` links.
    """

    id: str
    first: str | None
    order: tuple[str, ...]
    steps: Mapping[str, StepPlan]
    dag: bool = False
    deps: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled workflow definition. Build it with `compile_plan`."""

    definition: WorkflowDefinition
    scopes: Mapping[str, ScopePlan]
    variables: Evaluable | None
    outputs: Evaluable | None

    @property
    def workflow_id(self) -> str:
        """The definition id."""
        return self.definition.id

    @property
    def version(self) -> str:
        """The exact definition version."""
        return self.definition.version

    def step(self, scope_plan: str, step_id: str) -> StepPlan:
        """The plan of ``step_id`` in the static scope ``scope_plan``."""
        return self.scopes[scope_plan].steps[step_id]


_CACHE: dict[int, Plan] = {}
_CACHE_SIZE = 256


def compile_plan(definition: WorkflowDefinition) -> Plan:
    """Compile a definition, cached by object identity (definitions are frozen).

    Args:
        definition: A validated workflow definition.

    Returns:
        The plan; the same object for the same definition object while cached.
    """
    cached = _CACHE.get(id(definition))
    if cached is not None and cached.definition is definition:
        return cached
    scopes: dict[str, ScopePlan] = {}
    mode = definition.execution_mode
    _add_scope(scopes, "", definition.steps, definition, dag=mode != "sequential",
               use_deps=mode == "hybrid", start_at=definition.start_at)
    plan = Plan(definition, scopes, _mapping(definition.variables or None),
                _mapping(definition.outputs))
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[id(definition)] = plan
    return plan


def _add_scope(
    scopes: dict[str, ScopePlan],
    scope_id: str,
    steps: list[AnyStep],
    definition: WorkflowDefinition,
    *,
    dag: bool = False,
    use_deps: bool = False,
    start_at: str | None = None,
) -> None:
    order = tuple(s.id for s in steps)
    plans: dict[str, StepPlan] = {}
    for i, step in enumerate(steps):
        default_next = order[i + 1] if i + 1 < len(order) else END
        plans[step.id] = _step_plan(scopes, scope_id, step, default_next, definition)
    deps = {s.id: tuple(s.depends_on) for s in steps} if use_deps else None
    first = start_at or (order[0] if order else None)
    scopes[scope_id] = ScopePlan(scope_id, first, order, plans, dag, deps)


def _step_plan(
    scopes: dict[str, ScopePlan],
    scope_id: str,
    step: AnyStep,
    default_next: str,
    definition: WorkflowDefinition,
) -> StepPlan:
    common: dict[str, Any] = {
        "id": step.id,
        "type": step.type,
        "step": step,
        "scope": scope_id,
        "next": step.next or default_next,
        "retry": _retry(step, definition),
        "on_error": _on_error(step, definition, top=scope_id == ""),
        "input": _mapping(step.input),
        "output": _mapping(step.output),
    }
    own = f"{scope_id}/{step.id}" if scope_id else step.id
    if isinstance(step, ActionStep):
        return StepPlan(**common, params=_mapping(step.params))
    if isinstance(step, ConditionStep):
        exprs = tuple(Evaluable(b.when, mapping=False) for b in step.branches)
        targets = tuple(b.next for b in step.branches)
        return StepPlan(**common, exprs=exprs, targets=targets)
    if isinstance(step, LoopStep):
        source = step.for_each if step.for_each is not None else step.while_
        _add_scope(scopes, own, step.steps, definition)
        return StepPlan(**common, exprs=(Evaluable(source, mapping=False),), children=(own,))
    if isinstance(step, ParallelStep):
        children = tuple(f"{own}/{i}" for i in range(len(step.branches)))
        for child, branch in zip(children, step.branches, strict=True):
            _add_scope(scopes, child, branch.steps, definition)
        return StepPlan(**common, children=children)
    if isinstance(step, WaitStep):
        return StepPlan(**common, exprs=_wait_exprs(step))
    return StepPlan(**common)


def _wait_exprs(step: WaitStep) -> tuple[Evaluable, ...]:
    if step.event is not None:
        return (Evaluable(step.event.correlation, mapping=False),)
    if step.until is not None and parse_iso(step.until) is None:
        return (Evaluable(step.until, mapping=False),)
    return ()


def parse_iso(text: str) -> datetime | None:
    """An ISO 8601 time with a zone (``Z`` allowed), or None if ``text`` is not one."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _retry(step: AnyStep, definition: WorkflowDefinition) -> RetryPolicy | None:
    # Only steps that run something outside (a task, a child) are retried; a container
    # or a wait failing is a decision, not a transient fault.
    if not isinstance(step, ActionStep | SubprocessStep):
        return None
    return step.retry or definition.retry


def _on_error(step: AnyStep, definition: WorkflowDefinition, *, top: bool) -> ErrorHandling:
    if step.on_error is not None:
        return step.on_error
    default = definition.on_error
    # The workflow-level `goto` names a top-level step, so nested steps cannot use it.
    if default.action == "goto" and not top:
        return _NO_ERROR_HANDLING
    return default
