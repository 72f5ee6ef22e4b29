"""Moving an execution to another version of its workflow (`migrate_execution`).

Like Camunda's process instance migration, a migration is allowed only where the state maps
cleanly onto the target version: every step that is still active (a wait, a timer, an open
task or child, a loop or parallel step with running iterations) must have a step of the
same kind in the target, under the mapping, in the matching scope. Steps that already
finished need no counterpart: they keep their outputs (``steps.<id>``) under their
(mapped) id. A migration starts nothing and cancels nothing; timers keep their due times
and waits what they wait for. `migration_problems` is the whole decision, so the API's dry
run and the engine agree (both call it on the same state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from schemas.commands import MigrateExecution
from schemas.definitions import LoopStep, ParallelStep, SubprocessStep, WaitStep
from schemas.executions import CommandRejected, ExecutionMigrated
from streams.machine.plan import Plan, ScopePlan, StepPlan
from streams.machine.remap import scope_renames
from streams.machine.state import ACTIVE_STEP, State, StepState, join_path, split_path
from streams.machine.tx import Tx

__all__ = ["MIGRATABLE", "MigrationProblem", "effective_mapping", "migrate",
           "migration_problems"]

MIGRATABLE = frozenset({"running", "waiting", "queued"})
"""Statuses an execution can be migrated in."""


@dataclass(frozen=True, slots=True)
class MigrationProblem:
    """Why an execution cannot move to the target version.

    Attributes:
        code: ``unknown_version``, ``other_workflow``, ``same_version``, ``not_running``,
            ``execution_mode_changed``, ``unknown_step``, ``unknown_target_step``,
            ``mapping_collision``, ``step_missing``, ``step_type_changed``,
            ``action_changed``, ``wait_changed``, ``subprocess_changed``, ``loop_changed``
            or ``branches_changed``.
        message: What, in words.
        step: The step path in the running version it is about, if one.
    """

    code: str
    message: str
    step: str | None = None


def effective_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """The renames a mapping makes (identity entries dropped), sorted: what the event records."""
    return {k: v for k, v in sorted(mapping.items()) if k != v}


def migration_problems(state: State, source: Plan, target: Plan | None,
                       mapping: Mapping[str, str]) -> list[MigrationProblem]:
    """Every reason ``state`` (running ``source``) cannot move to ``target`` (empty: it can)."""
    if target is None:
        return [MigrationProblem("unknown_version", "the target version is not published")]
    problems = _header(state, source, target)
    if problems:
        return problems
    problems = _mapping_problems(source, target, mapping)
    renames = scope_renames(dict(dict.items(state.scopes)), mapping)
    for key, scope in dict.items(state.scopes):
        new_plan = renames[key][1]
        seen: dict[str, str] = {}
        for step_id, step in scope.steps.items():
            path = join_path(key, step_id)
            to = mapping.get(step_id, step_id)
            if to in seen:
                problems.append(MigrationProblem(
                    "mapping_collision", f"{path} and {join_path(key, seen[to])} would both "
                    f"be {to!r}", path))
            seen[to] = step_id
            if step.status in ACTIVE_STEP:
                problems += _active_step(state, step, path, source.scopes[scope.plan].steps.get(
                    step_id), target.scopes.get(new_plan), to, target.version)
    if state.failed_step is not None:  # a retry waiting for its slot re-runs this step
        where, step_id = split_path(state.failed_step)
        to = mapping.get(step_id, step_id)
        if where == "" and to not in target.scopes[""].steps:
            problems.append(MigrationProblem(
                "step_missing", f"the failed step {step_id} (to be retried) has no step {to!r} "
                f"in {target.version}", step_id))
    return problems


def _header(state: State, source: Plan, target: Plan) -> list[MigrationProblem]:
    if target.workflow_id != state.workflow_id:
        return [MigrationProblem("other_workflow", f"{target.workflow_id} is not the "
                                 f"execution's workflow {state.workflow_id}")]
    if target.version == state.workflow_version:
        return [MigrationProblem("same_version", f"the execution runs {target.version} already")]
    if state.status not in MIGRATABLE:
        return [MigrationProblem("not_running", f"the execution is {state.status}")]
    modes = source.definition.execution_mode, target.definition.execution_mode
    if modes[0] != modes[1]:
        return [MigrationProblem("execution_mode_changed",
                                 f"execution_mode {modes[0]} -> {modes[1]}")]
    return []


def _step_ids(plan: Plan) -> set[str]:
    return {step_id for scope in plan.scopes.values() for step_id in scope.steps}


def _mapping_problems(source: Plan, target: Plan,
                      mapping: Mapping[str, str]) -> list[MigrationProblem]:
    problems: list[MigrationProblem] = []
    have, want = _step_ids(source), _step_ids(target)
    for old, new in sorted(mapping.items()):
        if old not in have:
            problems.append(MigrationProblem(
                "unknown_step", f"the mapping names {old!r}, not a step of {source.version}"))
        if new not in want:
            problems.append(MigrationProblem(
                "unknown_target_step", f"the mapping maps to {new!r}, not a step of "
                f"{target.version}"))
    return problems


def _active_step(state: State, step: StepState, path: str, old: StepPlan | None,
                 new_scope: ScopePlan | None, to: str, version: str) -> list[MigrationProblem]:
    new = new_scope.steps.get(to) if new_scope is not None else None
    if old is None or new is None:
        where = "its scope" if new_scope is not None else "a matching scope"
        return [MigrationProblem("step_missing", f"active step {path} has no step {to!r} in "
                                 f"{where} of {version}", path)]
    if old.type != new.type:
        return [MigrationProblem("step_type_changed", f"active step {path} is a {old.type}, "
                                 f"{to!r} in {version} a {new.type}", path)]
    reason = _KIND_CHECKS.get(old.type, _same_kind)(state, step, old, new)
    return [] if reason is None else [MigrationProblem(reason[0], f"{path}: {reason[1]}", path)]


def _same_kind(state: State, step: StepState, old: StepPlan, new: StepPlan) -> None:
    return None


def _action(state: State, step: StepState, old: StepPlan, new: StepPlan) -> tuple[str, str] | None:
    before, after = getattr(old.step, "action", None), getattr(new.step, "action", None)
    if step.task is not None and before != after:  # the open task's answer is for `before`
        return "action_changed", f"its open task runs {before!r}, the target step {after!r}"
    return None


def _wait(state: State, step: StepState, old: StepPlan, new: StepPlan) -> tuple[str, str] | None:
    wait = new.step
    assert isinstance(wait, WaitStep)
    if step.status != "running":  # not begun yet: it begins as the target says
        return None
    waiting = step.wait or {}
    if "signal" in waiting and wait.signal != waiting["signal"]:
        return "wait_changed", f"it waits for signal {waiting['signal']!r}, the target for " \
                               f"{_wait_kind(wait)}"
    if "event_type" in waiting and (wait.event is None or wait.event.type
                                    != waiting["event_type"]):
        return "wait_changed", f"it waits for event {waiting['event_type']!r}, the target " \
                               f"for {_wait_kind(wait)}"
    if not waiting and wait.duration is None and wait.until is None:
        return "wait_changed", f"it waits on a timer, the target for {_wait_kind(wait)}"
    return None


def _wait_kind(wait: WaitStep) -> str:
    if wait.signal is not None:
        return f"signal {wait.signal!r}"
    if wait.event is not None:
        return f"event {wait.event.type!r}"
    return "a timer"


def _subprocess(state: State, step: StepState, old: StepPlan,
                new: StepPlan) -> tuple[str, str] | None:
    child = new.step
    assert isinstance(child, SubprocessStep)
    if step.task is not None and step.task in state.children and not child.wait:
        return "subprocess_changed", "it waits for its child, the target step does not wait"
    return None


def _loop(state: State, step: StepState, old: StepPlan, new: StepPlan) -> tuple[str, str] | None:
    before, after = old.step, new.step
    assert isinstance(before, LoopStep) and isinstance(after, LoopStep)
    if (before.for_each is None) != (after.for_each is None):
        return "loop_changed", "a for_each loop and a while loop do not map"
    return None


def _parallel(state: State, step: StepState, old: StepPlan,
              new: StepPlan) -> tuple[str, str] | None:
    before, after = old.step, new.step
    assert isinstance(before, ParallelStep) and isinstance(after, ParallelStep)
    if len(before.branches) != len(after.branches):
        return "branches_changed", f"{len(before.branches)} branches, the target has " \
                                   f"{len(after.branches)}"
    return None


_KIND_CHECKS = {"action": _action, "wait": _wait, "subprocess": _subprocess, "loop": _loop,
                "parallel": _parallel}


def migrate(tx: Tx, command: MigrateExecution, target: Plan | None) -> None:
    """Emit `execution_migrated`, or `command_rejected` (``migration_refused``) with every
    reason the state does not map."""
    problems = migration_problems(tx.state, tx.plan, target, command.mapping)
    if problems or target is None:
        message = "; ".join(f"{p.code}: {p.message}" for p in problems)
        tx.emit(CommandRejected, command_type=command.type, code="migration_refused",
                message=message[:2000])
        return
    tx.emit(ExecutionMigrated, from_version=tx.state.workflow_version,
            to_version=target.version, mapping=effective_mapping(command.mapping),
            requested_by=command.requested_by)
