"""The difference between two definition bodies, as a list of changes with JSON paths.

Lists whose items all carry a distinct ``id`` (steps, branches, actions with ids) are
compared by id, not by position: inserting a step shows as one added step, not as every
later step changed. A change of their order alone is one ``reordered`` change.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

__all__ = ["Change", "diff_definitions"]


class Change(BaseModel):
    """One difference.

    Attributes:
        path: Where, e.g. ``$.steps[id=charge].retry.max_attempts``.
        op: ``added`` (only in ``to``), ``removed`` (only in ``from``), ``changed``, or
            ``reordered`` (the same ids in another order; ``before``/``after`` list them).
    """

    path: str
    op: Literal["added", "removed", "changed", "reordered"]
    before: Any = None
    after: Any = None


def diff_definitions(before: Any, after: Any) -> list[Change]:
    """Every change from ``before`` to ``after`` (JSON values), in document order."""
    changes: list[Change] = []
    _diff("$", before, after, changes)
    return changes


def _ids(items: list[Any]) -> list[str] | None:
    ids = [item.get("id") for item in items if isinstance(item, dict)]
    if len(ids) != len(items) or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
        return None
    return ids  # type: ignore[return-value]


def _diff(path: str, before: Any, after: Any, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            where = f"{path}.{key}"
            if key not in after:
                out.append(Change(path=where, op="removed", before=before[key]))
            elif key not in before:
                out.append(Change(path=where, op="added", after=after[key]))
            else:
                _diff(where, before[key], after[key], out)
        return
    if isinstance(before, list) and isinstance(after, list):
        old_ids, new_ids = _ids(before), _ids(after)
        if old_ids is not None and new_ids is not None:
            _diff_by_id(path, before, after, old_ids, new_ids, out)
            return
        for i in range(max(len(before), len(after))):
            where = f"{path}[{i}]"
            if i >= len(after):
                out.append(Change(path=where, op="removed", before=before[i]))
            elif i >= len(before):
                out.append(Change(path=where, op="added", after=after[i]))
            else:
                _diff(where, before[i], after[i], out)
        return
    if before != after or type(before) is not type(after):
        out.append(Change(path=path, op="changed", before=before, after=after))


def _diff_by_id(path: str, before: list[Any], after: list[Any], old_ids: list[str],
                new_ids: list[str], out: list[Change]) -> None:
    old = dict(zip(old_ids, before, strict=True))
    new = dict(zip(new_ids, after, strict=True))
    kept_old = [i for i in old_ids if i in new]
    kept_new = [i for i in new_ids if i in old]
    if kept_old != kept_new:
        out.append(Change(path=path, op="reordered", before=kept_old, after=kept_new))
    for item_id in [*old_ids, *(i for i in new_ids if i not in old)]:
        where = f"{path}[id={item_id}]"
        if item_id not in new:
            out.append(Change(path=where, op="removed", before=old[item_id]))
        elif item_id not in old:
            out.append(Change(path=where, op="added", after=new[item_id]))
        else:
            _diff(where, old[item_id], new[item_id], out)
