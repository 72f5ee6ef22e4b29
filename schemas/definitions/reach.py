"""Whom a definition may act on: the engine's ownership check, pure.

A rule's actions and a workflow's subprocess steps start workflows on behalf of the
definition's owner, so they may only reach workflows that owner may run: a private workflow
only if the owner is its owner or a collaborator; a team or public one, or one nobody owns,
always. (The API's policy, ``projections.access``, says the same for a caller with the right to
run; the engine knows owners, not roles, so an admin's rule gets no exception here.)
"""

from __future__ import annotations

from schemas.definitions.workflow import WorkflowDefinition

__all__ = ["may_reach", "reach_refusal"]


def may_reach(owner: str | None, target: WorkflowDefinition) -> bool:
    """Whether a definition owned by ``owner`` (None: unowned) may start ``target``."""
    if target.visibility != "private" or target.owner is None:
        return True
    return owner is not None and (owner == target.owner or owner in target.collaborators)


def reach_refusal(actor: str, owner: str | None, target: WorkflowDefinition,
                  verb: str = "start") -> str | None:
    """Why ``actor`` (e.g. ``rule 'r1'``) owned by ``owner`` may not ``verb`` (start, signal)
    ``target``; None if it may."""
    if may_reach(owner, target):
        return None
    whose = f"owned by {owner!r}" if owner else "owned by nobody"
    return (f"{actor} ({whose}) may not {verb} private workflow {target.id!r} of "
            f"{target.owner!r}: only its owner and collaborators may")
