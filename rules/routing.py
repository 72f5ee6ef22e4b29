"""Limits that hold across workers: which matches a worker hands to the rule's gate owner.

A worker sees only the trigger partitions it owns, so it cannot count a rule's firings on its
own. A rule whose activations are counted or gathered (`max_executions`, `concurrency_limit`,
`batch` mode) is *gated*: with `RuleEngine.routed` set, its matches are not decided against the
local counters but come out as `Routed` requests, one per gate key, for the one owner of that
key to decide (`streams.triggers.rule_gates`). Rules in an exclusive group share their group's
key, because whether a limited member takes the group is known only where it is counted.
Unlimited rules outside such groups are never routed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from schemas.definitions import RuleDefinition

__all__ = ["Candidate", "Routed", "gate_key", "gated"]


class Candidate(NamedTuple):
    """A rule that matched and waits for its gate's decision.

    Attributes:
        rule_id: The rule.
        rule_version: The version that matched.
        events: The events it would fire with (one, or a completed pattern's).
    """

    rule_id: str
    rule_version: str
    events: tuple[Mapping[str, Any], ...]


class Routed(NamedTuple):
    """The matches of one event for one gate, in priority order (an exclusive group's members
    from the first gated one on; a single rule otherwise)."""

    key: str
    candidates: tuple[Candidate, ...]


def gated(definition: RuleDefinition) -> bool:
    """Whether the rule's activations are counted or gathered (decided by its gate owner)."""
    return (definition.max_executions is not None or definition.concurrency_limit is not None
            or definition.execution_mode == "batch")


def gate_key(definition: RuleDefinition) -> str:
    """Where a gated rule's limit state lives: its exclusive group's key, else its own.

    A rule that joins or leaves a group moves to another key and starts counting afresh.
    """
    group = definition.exclusive_group
    return f"group:{group}" if group is not None else f"rule:{definition.id}"
