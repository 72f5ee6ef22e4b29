"""One `decide` call in progress: the working state, the events so far, the work queue.

Every event is applied to the working state the moment it is emitted, so later
decisions in the same call see its effect and the state after `decide` is, by
construction, the fold of the events it returned.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.commands import CommandBase, ErrorInfo
from schemas.executions import ExecutionEventBase
from streams.machine.context import ExpressionContext, scope_chain
from streams.machine.evolve import apply
from streams.machine.plan import Plan, ScopePlan, StepPlan
from streams.machine.state import State, StepState
from streams.machine.trusted import build_event

__all__ = ["STEP_BUDGET", "BudgetExceeded", "StepKind", "Tx", "scope_chain"]

STEP_BUDGET = 10_000
"""Most steps one command may start; bounds a cycle of steps that never wait."""


class BudgetExceeded(Exception):
    """Raised inside `decide` when a command starts more than `STEP_BUDGET` steps."""


ChildEnded = Callable[["Tx", str, str, int, str, Any, ErrorInfo | None], None]


@dataclass(frozen=True, slots=True)
class StepKind:
    """What one step type does at the moments `flow` and `decide` hand over to it.

    `flow` finds a step's kind in the table the `Tx` carries (`streams.machine.kinds.KINDS`)
    instead of importing the modules that implement the kinds: adding a step type touches
    the table and its own module, and `flow` stays below `steps` and `containers`.

    Attributes:
        begin: Start a scheduled step: ``(tx, scope, step_id, plan)``.
        timed_out: Its timeout fired: ``(tx, path)``.
        restart: A retry timer fired, start the next attempt: ``(tx, scope, step_id)``
            (None: the kind is never retried).
        child_ended: One of its child scope instances ended: ``(tx, scope, step_id, index,
            status, output, error)`` (None: the kind has no child scopes).
    """

    begin: Callable[[Tx, str, str, StepPlan], None]
    timed_out: Callable[[Tx, str], None]
    restart: Callable[[Tx, str, str], None] | None = None
    child_ended: ChildEnded | None = None


class Tx:
    """The mutable working area of one `decide` call (never shared, never kept).

    Args:
        state: The execution's state before the command (None before it started).
        plan: The compiled definition.
        command: The command being decided.
        kinds: Step type -> its `StepKind` (`streams.machine.kinds.KINDS`).
    """

    __slots__ = ("_state", "budget", "command", "events", "kinds", "plan", "queue")

    def __init__(self, state: State | None, plan: Plan, command: CommandBase,
                 kinds: Mapping[str, StepKind]) -> None:
        self._state = state
        self.kinds = kinds
        self.plan = plan
        self.command = command
        self.events: list[Any] = []
        self.queue: deque[tuple[str, str]] = deque()
        self.budget = STEP_BUDGET

    @property
    def state(self) -> State:
        """The working state (exists once the execution started)."""
        assert self._state is not None, "no execution yet"
        return self._state

    @property
    def now(self) -> datetime:
        """The command's time: the only clock."""
        return self.command.time

    @property
    def live(self) -> bool:
        """True while the execution has not ended."""
        return self._state is not None and not self._state.finished

    def emit(self, cls: type[ExecutionEventBase], **fields: Any) -> Any:
        """Build the next event, record it and apply it to the working state."""
        command = self.command
        fields["execution_id"] = command.execution_id
        fields["seq"] = self._state.seq + 1 if self._state is not None else 1
        fields["time"] = command.time
        fields["command_id"] = command.command_id
        event: Any = build_event(cls, fields)
        self.events.append(event)
        self._state = apply(self._state, event)
        return event

    def new_id(self, kind: str) -> str:
        """A deterministic id for something the next event creates (task, timer, child)."""
        seq = self._state.seq + 1 if self._state is not None else 1
        return f"{self.command.execution_id}:{kind}{seq}"

    def scope_plan(self, scope: str) -> ScopePlan:
        """The static plan of a live scope instance."""
        # Only the scope's plan id is read, so the stored scope will do (no copy of it).
        return self.plan.scopes[dict.__getitem__(self.state.scopes, scope).plan]

    def step_plan(self, scope: str, step_id: str) -> StepPlan:
        """The plan of a step in a live scope instance."""
        return self.scope_plan(scope).steps[step_id]

    def kind(self, scope: str, step_id: str) -> StepKind:
        """The behaviour of a step's type."""
        return self.kinds[self.step_plan(scope, step_id).type]

    def step_state(self, scope: str, step_id: str) -> StepState | None:
        """The state of a step, if its scope is live and the step was reached."""
        owner = self.state.scopes.get(scope)
        return owner.steps.get(step_id) if owner is not None else None

    def context(self, scope: str, **extra: Any) -> ExpressionContext:
        """The expression context seen by a step in ``scope`` (see the language contract)."""
        return ExpressionContext(self.state, scope, self.command.time, extra)
