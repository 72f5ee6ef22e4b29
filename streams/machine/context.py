"""The names an expression in a step may read, computed only when read.

An expression reads one or two names (``input``, ``output``, ``steps``...). Building
the whole context for every expression (``steps`` walks every scope up to the
top level) cost more than most evaluations, so each name is computed on demand.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from streams.machine.state import State

__all__ = ["NAMES", "ExpressionContext", "scope_chain"]

NAMES = ("input", "vars", "steps", "event", "now", "execution", "item", "index", "error")
"""Names every step context binds (see the language contract); more may be added per call."""
_NAMES = frozenset(NAMES)


@functools.lru_cache(maxsize=4096)
def scope_chain(scope: str) -> tuple[str, ...]:
    """The scope keys from the top level down to ``scope`` ("a/3/b/0" -> "", "a/3", "a/3/b/0")."""
    if not scope:
        return ("",)
    parts = scope.split("/")
    return tuple("/".join(parts[:i]) for i in range(0, len(parts) + 1, 2))


class ExpressionContext(Mapping[str, Any]):
    """The context seen by a step in ``scope`` at ``now``, plus ``extra`` names."""

    __slots__ = ("_extra", "_now", "_scope", "_state")

    def __init__(self, state: State, scope: str, now: datetime, extra: dict[str, Any]) -> None:
        self._state = state
        self._scope = scope
        self._now = now
        self._extra = extra

    def __getitem__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        state = self._state
        if name == "input":
            return state.input
        if name == "vars":
            return state.vars
        if name == "steps":
            return self._steps()
        if name == "event":
            return state.trigger_event or {}
        if name == "now":
            return self._now
        if name == "execution":
            return {"id": state.execution_id, "workflow_id": state.workflow_id,
                    "version": state.workflow_version}
        if name == "item":
            return self._iteration()[0]
        if name == "index":
            return self._iteration()[1]
        if name == "error":
            return state.last_error
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in _NAMES or name in self._extra

    def __iter__(self) -> Iterator[str]:
        yield from NAMES
        yield from (name for name in self._extra if name not in NAMES)

    def __len__(self) -> int:
        return len(NAMES) + sum(1 for name in self._extra if name not in NAMES)

    def _steps(self) -> dict[str, Any]:
        steps: dict[str, Any] = {}
        scopes = self._state.scopes
        for key in scope_chain(self._scope):
            owner = dict.get(scopes, key)  # only read: no need for this state's own copy
            if owner is not None:
                for step_id, step in owner.steps.items():
                    steps[step_id] = {"output": step.output, "status": step.status}
        return steps

    def _iteration(self) -> tuple[Any, int | None]:
        scopes = self._state.scopes
        for key in reversed(scope_chain(self._scope)):  # the innermost iteration wins
            owner = dict.get(scopes, key)
            if owner is not None and owner.index is not None:
                return owner.item, owner.index
        return None, None
