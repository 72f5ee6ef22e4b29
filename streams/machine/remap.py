"""Renaming step ids throughout a state: what `execution_migrated` does to it.

The state names steps in four places: step keys inside each scope, scope instance keys
(``<scope>/<container step>/<index>``), scope plan ids (``<scope plan>/<loop step>`` or
``<scope plan>/<parallel step>/<branch>``) and the paths of tasks, children, timers and the
failed step. Everything here is derived from the state and the mapping alone, so `evolve`
can apply a migration without the definitions (a replay needs none).
"""

from __future__ import annotations

from collections.abc import Mapping

from streams.machine.state import ScopeState, join_path, split_path

__all__ = ["rename_path", "scope_renames"]


def scope_renames(scopes: Mapping[str, ScopeState], mapping: Mapping[str, str]) -> dict[
        str, tuple[str, str]]:
    """Each scope instance key -> its new key and new plan id under ``mapping``.

    Args:
        scopes: The state's scope instances (read only: their plan ids).
        mapping: Step id -> new step id (ids not named keep theirs).
    """
    renames: dict[str, tuple[str, str]] = {}
    # Parents first: an instance key has one more "/<step>/<index>" than its parent's.
    for key in sorted(scopes, key=lambda k: k.count("/") if k else -1):
        plan = scopes[key].plan
        if not key:
            renames[key] = (key, plan)
            continue
        head, _, index = key.rpartition("/")
        parent, _, step = head.rpartition("/")
        new_parent, new_parent_plan = renames.get(parent, (parent, ""))
        step_to = mapping.get(step, step)
        container_plan = join_path(scopes[parent].plan if parent in scopes else "", step)
        # A loop iteration runs its loop's own scope plan; a branch its own `<step>/<i>` one.
        new_plan = join_path(new_parent_plan, step_to)
        if plan != container_plan:
            new_plan = join_path(new_plan, index)
        renames[key] = (join_path(join_path(new_parent, step_to), index), new_plan)
    return renames


def rename_path(path: str, renames: Mapping[str, tuple[str, str]],
                mapping: Mapping[str, str]) -> str:
    """A step path (``<scope key>/<step id>``) after the renames."""
    scope, step = split_path(path)
    new_scope = renames[scope][0] if scope in renames else scope
    return join_path(new_scope, mapping.get(step, step))
