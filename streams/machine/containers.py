"""Steps that contain scopes: loops (for-each and while) and parallel branches.

Each loop iteration and each branch is a scope instance keyed
``<step path>/<index>``. A container's output is built from the output of the
last step that completed in each of its scopes: a list (loops, by index) or an
object keyed by branch name (parallel).
"""

from __future__ import annotations

from typing import Any

from schemas.commands import ErrorInfo
from schemas.definitions import LoopStep, ParallelStep
from schemas.executions import (
    BranchEnded,
    BranchStarted,
    LoopIterationEnded,
    LoopIterationStarted,
    StepStarted,
)
from schemas.expressions import ExpressionError
from streams.machine import flow
from streams.machine.plan import StepPlan
from streams.machine.state import StepState, join_path
from streams.machine.tx import Tx

__all__ = ["begin_loop", "begin_parallel", "branch_ended", "iteration_ended"]


def _loop(plan: StepPlan) -> LoopStep:
    step = plan.step
    assert isinstance(step, LoopStep)
    return step


def _parallel(plan: StepPlan) -> ParallelStep:
    step = plan.step
    assert isinstance(step, ParallelStep)
    return step


def _state(tx: Tx, scope: str, step_id: str) -> StepState:
    step = tx.step_state(scope, step_id)
    assert step is not None
    return step


def begin_loop(tx: Tx, scope: str, step_id: str, plan: StepPlan) -> None:
    """Start a loop: evaluate ``for_each`` once (kept in the state), then iterate."""
    loop = _loop(plan)
    items: list[Any] | None = None
    if loop.for_each is not None:
        try:
            value = plan.exprs[0](tx.context(scope))
        except ExpressionError as exc:
            tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1)
            flow.fail_step(tx, scope, step_id, flow.expression_error(exc, "for_each"))
            return
        error = _check_items(value, loop.max_iterations)
        if error is not None:
            tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1)
            flow.fail_step(tx, scope, step_id, error)
            return
        items = value
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1, items=items)
    if plan.timeout is not None:
        flow.schedule_timer(tx, scope, step_id, plan.timeout, "step_timeout")
    _continue_loop(tx, scope, step_id, plan)


def _check_items(value: Any, bound: int) -> ErrorInfo | None:
    if not isinstance(value, list):
        return flow.error_info("invalid_items", f"for_each gave {type(value).__name__}, not a list")
    if len(value) > bound:
        return flow.error_info(
            "max_iterations_exceeded", f"{len(value)} items exceed max_iterations {bound}"
        )
    return None


def _continue_loop(tx: Tx, scope: str, step_id: str, plan: StepPlan) -> None:
    loop = _loop(plan)
    step = _state(tx, scope, step_id)
    path = join_path(scope, step_id)
    if loop.for_each is not None:
        items = step.items or []
        while tx.live and len(step.active) < loop.parallelism and step.next_index < len(items):
            index = step.next_index
            tx.emit(LoopIterationStarted, scope=scope, step_id=step_id, index=index,
                    item=items[index])
            flow.start_scope(tx, join_path(path, index))
        if tx.live and not step.active and step.next_index >= len(items):
            flow.finish_step(tx, scope, step_id, _padded(step.results, len(items)))
        return
    if step.active:
        return
    _next_while_iteration(tx, scope, step_id, plan, step)


def _next_while_iteration(
    tx: Tx, scope: str, step_id: str, plan: StepPlan, step: StepState
) -> None:
    index = step.next_index
    try:
        value = plan.exprs[0](tx.context(scope, index=index))
    except ExpressionError as exc:
        flow.fail_step(tx, scope, step_id, flow.expression_error(exc, "while"))
        return
    if not isinstance(value, bool):
        error = flow.error_info("not_boolean", f"while gave {type(value).__name__}")
        flow.fail_step(tx, scope, step_id, error)
        return
    if not value:
        flow.finish_step(tx, scope, step_id, _padded(step.results, index))
        return
    bound = _loop(plan).max_iterations
    if index >= bound:
        error = flow.error_info("max_iterations_exceeded", f"while still true after {bound}")
        flow.fail_step(tx, scope, step_id, error)
        return
    tx.emit(LoopIterationStarted, scope=scope, step_id=step_id, index=index)
    flow.start_scope(tx, join_path(join_path(scope, step_id), index))


def _padded(results: tuple[Any, ...], length: int) -> list[Any]:
    return [*results, *[None] * (length - len(results))]


def iteration_ended(
    tx: Tx, scope: str, step_id: str, index: int, status: str, output: Any,
    error: ErrorInfo | None,
) -> None:
    """One iteration's scope ended: fail the loop, or start more iterations / finish."""
    tx.emit(LoopIterationEnded, scope=scope, step_id=step_id, index=index, status=status,
            output=output if status == "completed" else None, error=error)
    step = _state(tx, scope, step_id)
    if status == "failed":
        for other in list(step.active):
            flow.cancel_child_scope(tx, scope, step_id, other, "iteration_failed")
        assert error is not None
        flow.fail_step(tx, scope, step_id, error)
        return
    _continue_loop(tx, scope, step_id, tx.step_plan(scope, step_id))


def begin_parallel(tx: Tx, scope: str, step_id: str, plan: StepPlan) -> None:
    """Start every branch (all recorded first, so a branch ending at once cannot join early)."""
    parallel = _parallel(plan)
    tx.emit(StepStarted, scope=scope, step_id=step_id, attempt=1)
    if plan.timeout is not None:
        flow.schedule_timer(tx, scope, step_id, plan.timeout, "step_timeout")
    for index, branch in enumerate(parallel.branches):
        tx.emit(BranchStarted, scope=scope, step_id=step_id, branch=index, name=branch.name)
    step = _state(tx, scope, step_id)
    path = join_path(scope, step_id)
    for index in range(len(parallel.branches)):
        if tx.live and index in step.active:
            flow.start_scope(tx, join_path(path, index))


def branch_ended(
    tx: Tx, scope: str, step_id: str, index: int, status: str, output: Any,
    error: ErrorInfo | None,
) -> None:
    """One branch reached the join: apply ``join`` and ``fail_fast``."""
    plan = tx.step_plan(scope, step_id)
    parallel = _parallel(plan)
    name = parallel.branches[index].name
    tx.emit(BranchEnded, scope=scope, step_id=step_id, branch=index, name=name, status=status,
            output=output if status == "completed" else None, error=error)
    step = _state(tx, scope, step_id)
    decisive = (status == "failed" and parallel.fail_fast) or (
        status == "completed" and parallel.join == "any"
    )
    if decisive:
        for other in list(step.active):
            flow.cancel_child_scope(tx, scope, step_id, other, "join")
        if status == "completed":
            flow.finish_step(tx, scope, step_id, {name: output})
        else:
            assert error is not None
            flow.fail_step(tx, scope, step_id, error)
        return
    if step.active:
        return
    if step.errors:
        flow.fail_step(tx, scope, step_id, _branches_failed(step, len(parallel.branches)))
        return
    results = _padded(step.results, len(parallel.branches))
    flow.finish_step(tx, scope, step_id, {b.name: results[i] for i, b in enumerate(parallel.branches)})


def _branches_failed(step: StepState, total: int) -> ErrorInfo:
    return flow.error_info(
        "branches_failed", f"{len(step.errors)} of {total} branches failed",
        errors=list(step.errors),
    )
