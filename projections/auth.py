"""Who may do what: API tokens with roles, and per-definition owner, collaborators, visibility.

Three rights are separate: **view** (read a definition, its executions and statistics),
**run** (start, cancel, signal, retry executions; ingest triggers) and **edit** (publish
versions, change status). A role grants a set of rights; the object (a workflow or rule, or
the workflow an execution belongs to) then says whose they are:

* ``private``: only its owner, its collaborators and admins see, run or edit it;
* ``team`` and ``public``: every token holder sees and runs it (as far as the role allows);
  editing stays with the owner and collaborators (anyone with an editing role while it has
  no owner). ``public`` differs from ``team`` only in the UI's listing.

Admins pass every object check. An object a caller may not view answers 404, as if it did
not exist; one they may view but not act on answers 403.

Tokens come from ``HEADWATER_API_TOKENS``, JSON ``{"<token>": {"role": ..., "subject": ...}}``.
**With no tokens configured the API is open**: every request acts as ``anonymous`` with the
admin role, which keeps ``headwater up`` on localhost usable without setup. Configure tokens
before exposing the API beyond the machine.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping

import orjson
from fastapi import HTTPException, Request
from pydantic import TypeAdapter, ValidationError

from projections.access import OPEN, Acl, Principal, Right, allowed

__all__ = ["TokenTable", "check", "require"]


def check(principal: Principal, right: Right, acl: Acl, what: str) -> None:
    """Raise the HTTP error that denies ``right`` on ``what``, if it is denied.

    Raises:
        HTTPException: 404 when the caller may not even view it, else 403.
    """
    if allowed(principal, right, acl):
        return
    if not allowed(principal, Right.VIEW, acl):
        raise HTTPException(404, f"{what} not found")
    raise HTTPException(403, f"{principal.subject} ({principal.role}) may not {right} {what}")


def require(principal: Principal, right: Right) -> None:
    """Raise 403 unless the caller's role grants ``right`` on something."""
    if not principal.has(right):
        raise HTTPException(403, f"the {principal.role} role may not {right}")


_TOKENS = TypeAdapter(dict[str, Principal])


class TokenTable:
    """The configured tokens; empty means the API is open (see the module doc)."""

    def __init__(self, tokens: Mapping[str, Principal] | None = None) -> None:
        self._tokens = dict(tokens or {})

    @classmethod
    def from_env(cls, variable: str = "HEADWATER_API_TOKENS") -> TokenTable:
        """Read ``{"<token>": {"role": ..., "subject": ...}}`` from the environment.

        Raises:
            ValueError: The variable is set but not such a JSON object.
        """
        return cls.from_text(os.environ.get(variable, ""), variable)

    @classmethod
    def from_text(cls, text: str, source: str = "api_tokens") -> TokenTable:
        """Parse ``{"<token>": {"role": ..., "subject": ...}}``; empty text means open.

        Raises:
            ValueError: The text is not such a JSON object (the message names `source`).
        """
        text = text.strip()
        if not text:
            return cls()
        try:
            return cls(_TOKENS.validate_python(orjson.loads(text)))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise ValueError(f"{source}: not a JSON object of token -> "
                             f"{{role, subject}}: {exc}") from None

    @property
    def open(self) -> bool:
        """Whether no tokens are configured (everyone is an admin)."""
        return not self._tokens

    def principal(self, authorization: str | None) -> Principal:
        """The caller of a request with this ``Authorization`` header.

        Raises:
            HTTPException: 401 when tokens are configured and it names none of them.
        """
        if self.open:
            return OPEN
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and token:
            for known, principal in self._tokens.items():
                if hmac.compare_digest(known.encode(), token.strip().encode()):
                    return principal
        raise HTTPException(401, "a valid API token is required (Authorization: Bearer ...)",
                            headers={"WWW-Authenticate": "Bearer"})

    async def dependency(self, request: Request) -> Principal:
        """FastAPI dependency: the caller of ``request``.

        ``async`` although it never awaits: FastAPI runs a plain function in a worker
        thread, and that hop cost more than the whole read it guards (profiled).
        """
        return self.principal(request.headers.get("authorization"))
