"""The step-kind table: one entry per step type, found by lookup (`Tx.kind`), never by
``if plan.type == ...``.

`flow` runs steps and scopes without importing `steps` or `containers`: it asks the table the
`Tx` carries. This module is the only one that imports both, so the core's modules form a
tree: `decide` > `kinds` > `steps` | `containers` > `flow` > `tx`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from streams.machine import containers, steps
from streams.machine.tx import StepKind

__all__ = ["KINDS"]

KINDS: Mapping[str, StepKind] = MappingProxyType({
    "action": StepKind(steps.begin_action, steps.step_timed_out, restart=steps.restart_action),
    "condition": StepKind(steps.begin_condition, steps.step_timed_out),
    "subprocess": StepKind(steps.begin_subprocess, steps.step_timed_out,
                           restart=steps.restart_subprocess),
    "wait": StepKind(steps.begin_wait, steps.step_timed_out),
    "loop": StepKind(containers.begin_loop, steps.step_timed_out,
                     child_ended=containers.iteration_ended),
    "parallel": StepKind(containers.begin_parallel, steps.step_timed_out,
                         child_ended=containers.branch_ended),
})
"""Step type -> what it does when it begins, restarts, times out, or a child scope ends."""
