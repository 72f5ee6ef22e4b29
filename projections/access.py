"""The access policy, pure: roles grant rights, an object's ACL says whose it is.

See ``projections.auth`` for the rules in words and for how callers are identified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["OPEN", "ROLE_RIGHTS", "Acl", "Principal", "Right", "Role", "Visibility", "allowed"]

Role = Literal["admin", "editor", "operator", "viewer"]
Visibility = Literal["private", "team", "public"]


class Right(StrEnum):
    """What a caller wants to do with an object."""

    VIEW = "view"
    RUN = "run"
    EDIT = "edit"


ROLE_RIGHTS: Mapping[str, frozenset[Right]] = {
    "admin": frozenset(Right),
    "editor": frozenset(Right),
    "operator": frozenset({Right.VIEW, Right.RUN}),
    "viewer": frozenset({Right.VIEW}),
}


class Principal(BaseModel):
    """The caller: who they are and the role their token grants."""

    model_config = ConfigDict(frozen=True)

    subject: str = Field(min_length=1)
    role: Role

    def has(self, right: Right) -> bool:
        """Whether the role grants ``right`` at all (before any object check)."""
        return right in ROLE_RIGHTS[self.role]


OPEN = Principal(subject="anonymous", role="admin")
"""Who every request is when no tokens are configured."""


@dataclass(frozen=True)
class Acl:
    """Whose an object is. ``owner`` None: nobody owns it yet."""

    owner: str | None = None
    collaborators: tuple[str, ...] = ()
    visibility: Visibility = "team"

    def is_member(self, subject: str) -> bool:
        """Owner or collaborator."""
        return subject == self.owner or subject in self.collaborators


def allowed(principal: Principal, right: Right, acl: Acl) -> bool:
    """Whether ``principal`` may exercise ``right`` on an object with ``acl``."""
    if not principal.has(right):
        return False
    if principal.role == "admin" or acl.is_member(principal.subject):
        return True
    if acl.visibility == "private":
        return False
    return right is not Right.EDIT or acl.owner is None
