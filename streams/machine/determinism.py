"""The determinism gate: re-decide recorded commands and compare with the recorded events.

Like Temporal's replayer, this catches a core change that would make a stored
history unreplayable (or make a worker decide differently after a restart).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.commands import CommandBase, MigrateExecution
from schemas.definitions import WorkflowDefinition
from schemas.executions import ExecutionEvent
from streams.machine.decide import decide
from streams.machine.evolve import apply
from streams.machine.plan import Plan, compile_plan
from streams.machine.state import State

__all__ = ["Divergence", "check_determinism"]


@dataclass(frozen=True, slots=True)
class Divergence:
    """A recorded command whose re-decided events differ from the recorded ones.

    Attributes:
        index: Position of the command in the history.
        command_id: The command's id.
        event_index: Position of the first differing event in that command's batch.
        expected: The recorded event there (as JSON), or None if the replay made more.
        actual: The re-decided event there (as JSON), or None if the replay made fewer.
    """

    index: int
    command_id: str
    event_index: int
    expected: dict[str, Any] | None
    actual: dict[str, Any] | None


def check_determinism(
    definition: WorkflowDefinition | Plan,
    history: Iterable[tuple[CommandBase, Sequence[ExecutionEvent]]],
    versions: Mapping[str, WorkflowDefinition | Plan] | None = None,
) -> list[Divergence]:
    """Re-decide each recorded command against the state rebuilt from the recorded events.

    Args:
        definition: The definition version the execution started with.
        history: Each command with the events recorded for it, in order.
        versions: Other versions of the workflow, by version: a migration's target, and
            what the execution runs after it.

    Returns:
        One `Divergence` per command whose events differ (empty when deterministic).
        Replay continues from the recorded events, so later divergences are found too.
    """
    first = _plan(definition)
    plans = {first.version: first, **{v: _plan(d) for v, d in (versions or {}).items()}}
    state: State | None = None
    found: list[Divergence] = []
    for index, (command, recorded) in enumerate(history):
        plan = plans[state.workflow_version] if state is not None else first
        target = (plans.get(command.to_version) if isinstance(command, MigrateExecution)
                  else None)
        produced = decide(state, command, plan, target)
        divergence = _first_difference(index, command, recorded, produced)
        if divergence is not None:
            found.append(divergence)
        for event in recorded:
            state = apply(state, event)
    return found


def _plan(definition: WorkflowDefinition | Plan) -> Plan:
    return definition if isinstance(definition, Plan) else compile_plan(definition)


def _first_difference(
    index: int,
    command: CommandBase,
    recorded: Sequence[ExecutionEvent],
    produced: Sequence[ExecutionEvent],
) -> Divergence | None:
    for i in range(max(len(recorded), len(produced))):
        expected = recorded[i].model_dump(mode="json") if i < len(recorded) else None
        actual = produced[i].model_dump(mode="json") if i < len(produced) else None
        if expected != actual:
            return Divergence(index, command.command_id, i, expected, actual)
    return None
