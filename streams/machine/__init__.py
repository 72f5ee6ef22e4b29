"""The workflow state machine: a pure, deterministic, event-sourced core.

``decide(state, command, definition) -> events`` reads; ``evolve(state, event) ->
state`` writes. Time comes in on the command, ids are derived from the execution
id and the event sequence, and nothing here touches Kafka, a clock, randomness
or I/O, so replaying an execution's events rebuilds exactly the state a worker
held. See docs/state-machine.md.

Example:
    >>> plan = compile_plan(definition)
    >>> events, state = apply_command(None, start_command, plan)
    >>> replay(events) == state
    True
"""

from streams.machine.backoff import jitter_fraction, retry_delay
from streams.machine.decide import MAX_BUFFERED_SIGNALS, apply_command, decide
from streams.machine.determinism import Divergence, check_determinism
from streams.machine.evolve import HistoryError, evolve, replay
from streams.machine.gate import (
    GateHistoryError,
    GateState,
    apply_gate,
    evolve_gate,
    gate_id,
    is_gate,
    replay_gate,
)
from streams.machine.plan import Plan, compile_plan
from streams.machine.state import (
    RECENT_COMMANDS,
    TERMINAL_STATUSES,
    ScopeState,
    State,
    StepState,
    TimerState,
    join_path,
    split_path,
)
from streams.machine.tx import STEP_BUDGET

__all__ = [
    "MAX_BUFFERED_SIGNALS",
    "RECENT_COMMANDS",
    "STEP_BUDGET",
    "TERMINAL_STATUSES",
    "Divergence",
    "GateHistoryError",
    "GateState",
    "HistoryError",
    "Plan",
    "ScopeState",
    "State",
    "StepState",
    "TimerState",
    "apply_command",
    "apply_gate",
    "check_determinism",
    "compile_plan",
    "decide",
    "evolve",
    "evolve_gate",
    "gate_id",
    "is_gate",
    "jitter_fraction",
    "join_path",
    "replay",
    "replay_gate",
    "retry_delay",
    "split_path",
]
