"""An execution's side of its workflow's ``concurrency_limit``: queue, then start when granted.

A start (or a retry) of a limited workflow emits `ExecutionQueued` with a fresh ticket
(``<execution id>:slot<seq>``); the engine asks the workflow's gate for a slot
(`streams.executions.routing.gate_follow_ups`). `GrantSlot` for that ticket starts (or resumes) the
execution; a grant the execution does not wait for is given back with `SlotReturned`. When the
execution ends, the engine releases its ticket, which also takes a queued execution that was
cancelled out of the gate's queue.
"""

from __future__ import annotations

from typing import Literal

from schemas.commands import GrantSlot, StartExecution
from schemas.gates import ExecutionQueued, SlotReturned
from streams.machine.gate import gate_id
from streams.machine.state import State
from streams.machine.tx import Tx

__all__ = ["Verdict", "give_back", "queue", "start_command", "verdict"]

Verdict = Literal["admit", "duplicate", "give_back"]
"""What a grant means to an execution: start now, already running on it, or not wanted."""


def queue(tx: Tx, start: StartExecution | State, limit: int) -> None:
    """Emit `ExecutionQueued` for a start command or, on a retry, for the failed state."""
    # A start command and a state name the trigger's fields alike.
    tx.emit(ExecutionQueued, workflow_id=tx.plan.workflow_id, workflow_version=tx.plan.version,
            input=start.input, trigger_type=start.trigger_type, triggered_by=start.triggered_by,
            trigger_event=start.trigger_event, parent_execution_id=start.parent_execution_id,
            parent_step=start.parent_step, gate_id=gate_id(tx.plan.workflow_id),
            ticket=tx.new_id("slot"), limit=limit, priority=start.priority)


def verdict(state: State, command: GrantSlot) -> Verdict:
    """How an execution answers a grant (it may have ended, or run on that slot already)."""
    if state.slot == command.ticket and state.status == "queued":
        return "admit"
    if state.slot == command.ticket and not state.finished:
        return "duplicate"
    return "give_back"


def give_back(tx: Tx, command: GrantSlot) -> None:
    """Return a slot the execution does not need; the engine releases it at the gate."""
    state = tx.state
    reason = (f"the execution is {state.status}" if state.slot == command.ticket
              else f"the execution waits for {state.slot!r}" if state.status == "queued"
              else "not a slot this execution asked for")
    tx.emit(SlotReturned, gate_id=command.gate_id, ticket=command.ticket, reason=reason)


def start_command(state: State, grant: GrantSlot) -> StartExecution:
    """The start a queued execution runs once granted: its own, at the grant's time."""
    return StartExecution(
        command_id=grant.command_id, execution_id=state.execution_id, time=grant.time,
        workflow_id=state.workflow_id, version=state.workflow_version, input=state.input,
        trigger_type=state.trigger_type, triggered_by=state.triggered_by,
        trigger_event=state.trigger_event, parent_execution_id=state.parent_execution_id,
        parent_step=state.parent_step, priority=state.priority)  # type: ignore[arg-type]
