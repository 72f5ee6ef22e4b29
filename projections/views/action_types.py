"""The action types the designer's palette offers: built-ins, plus every other task type the
log shows (named by a published workflow's action step, or requested of a worker).

Key ``atype/<type>``, value ``{"type", "seen_in": [...]}``. Only which sources named a type is
kept, never when or how often, so every interleaving of the partitions stores the same bytes
and a write happens only the first time a source names a type.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel

from projections.views._tx import ScanReader, Tx
from schemas.definition_events import DefinitionPublished
from schemas.definitions import BUILTIN_ACTIONS

__all__ = ["ActionType", "apply_action_types", "page_action_types"]

Source = Literal["builtin", "definitions", "tasks"]
_PREFIX = "atype/"


class ActionType(BaseModel):
    """One task type and where it was seen."""

    type: str
    seen_in: list[Source]


def _note(tx: Tx, task_type: str, source: Source) -> None:
    if task_type in BUILTIN_ACTIONS:
        return
    key = _PREFIX + task_type
    record = tx.load(key, ActionType)
    if record is None:
        tx.save(key, ActionType(type=task_type, seen_in=[source]))
    elif source not in record.seen_in:
        tx.save(key, ActionType(type=task_type, seen_in=sorted([*record.seen_in, source])))


def apply_action_types(tx: Tx, event: Any) -> None:
    """Note the task type of a ``task_requested`` event, or every action a workflow names."""
    if getattr(event, "type", None) == "task_requested":
        _note(tx, event.task_type, "tasks")
    elif isinstance(event, DefinitionPublished) and event.kind == "workflow":
        for name in _actions(event.definition.get("steps")):
            _note(tx, name, "definitions")


def _actions(steps: Any) -> Iterator[str]:
    """The action names of a published workflow's steps, nested scopes included."""
    for step in steps if isinstance(steps, list) else ():
        if not isinstance(step, dict):
            continue
        if isinstance(step.get("action"), str):
            yield step["action"]
        yield from _actions(step.get("steps"))
        for branch in step.get("branches") or ():
            if isinstance(branch, dict):
                yield from _actions(branch.get("steps"))


def page_action_types(reader: ScanReader, *, limit: int, after: str | None = None,
                      search: str = "") -> tuple[list[ActionType], str | None]:
    """Built-ins and seen types, by name after ``after``, those containing ``search``."""
    builtins = (ActionType(type=name, seen_in=["builtin"]) for name in sorted(BUILTIN_ACTIONS)
                if after is None or name > after)
    start = None if after is None else _PREFIX + after
    seen = (ActionType.model_validate_json(value)
            for _, value in reader.scan(_PREFIX, start_after=start))
    items: list[ActionType] = []
    needle = search.lower()
    for item in heapq.merge(builtins, seen, key=lambda a: a.type):
        if needle and needle not in item.type.lower():
            continue
        if len(items) == limit:
            return items, items[-1].type
        items.append(item)
    return items, None
