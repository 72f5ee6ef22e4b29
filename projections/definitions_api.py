"""Publishing and versioning workflow and rule definitions, and changing their status.

Writes go to ``hw.definitions``; reads come from the definitions view, so a version just
published shows up once the projector has folded it (usually within milliseconds).
A published version is immutable: publishing the same version with other content is a 409.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel

from projections.access import Principal, Right, allowed
from projections.auth import check, require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views import read_body
from projections.views.definitions import DefinitionRecord, VersionView, read_definitions
from schemas.definition_events import (
    DefinitionPublished,
    DefinitionStatusChanged,
    definition_key,
)
from schemas.validation import Definition, Problem, definition_kind, validate_definition

__all__ = ["DefinitionOut", "PublishedOut", "StatusChange", "definitions_router"]

Kind = Literal["workflow", "rule"]


class DefinitionOut(BaseModel):
    """A workflow or rule with every version, as the definitions view holds it.

    Attributes:
        name: The latest version's name.
        status: The latest version's status.
        active: Whether any version is active (what runs).
    """

    kind: str
    definition_id: str
    name: str = ""
    latest: str | None
    status: str | None = None
    active: bool
    owner: str | None
    collaborators: list[str]
    visibility: str
    versions: list[VersionView]

    @classmethod
    def of(cls, record: DefinitionRecord) -> DefinitionOut:
        acl = record.acl
        latest = record.versions.get(record.latest or "")
        return cls(kind=record.kind, definition_id=record.definition_id,
                   name=latest.name if latest else "", latest=record.latest,
                   status=latest.status if latest else None, active=record.active,
                   owner=acl.owner, collaborators=list(acl.collaborators),
                   visibility=acl.visibility, versions=list(record.versions.values()))


class PublishedOut(BaseModel):
    """What a publish wrote, and the warnings that did not stop it."""

    key: str
    kind: str
    definition_id: str
    version: str
    status: str
    checksum: str
    warnings: list[ErrorItem]


class StatusChange(BaseModel):
    """The status a definition version moves to, and why."""

    status: Literal["active", "paused", "deprecated"]
    reason: str = ""


class StatusOut(BaseModel):
    """The status change that was written."""

    key: str
    status: str
    previous_status: str | None


def _items(problems: list[Problem]) -> list[ErrorItem]:
    return [ErrorItem(path=p.path, code=p.code, message=p.message) for p in problems]


def checksum(body: dict[str, Any]) -> str:
    """The digest of a definition's JSON that tells a re-publish from a change.

    Raises:
        HTTPException: 422 `too_deep` when the definition nests deeper than orjson writes
            (254 levels; about 125 nested loops).
    """
    try:
        text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        raise problem(422, "invalid definition: 1 problem(s)", [ErrorItem(
            path="$", code="too_deep", message=f"the definition cannot be written: {exc}")]
        ) from None
    return hashlib.sha256(text).hexdigest()


class VersionBodyOut(BaseModel):
    """One published version: its status and its definition as published."""

    kind: str
    definition_id: str
    version: str
    status: str
    definition: dict[str, Any]


def _check_publish(ctx: ApiContext, who: Principal, definition: Definition, digest: str) -> None:
    what = f"{definition.kind} {definition.id!r}"
    record = ctx.definition(definition.kind, definition.id)
    owner = definition.owner
    if record is None:
        if who.role != "admin" and owner not in (None, who.subject):
            raise problem(403, f"{what}: a new definition's owner must be you ({who.subject})")
        return
    acl = record.acl
    check(who, Right.EDIT, acl, what)
    collaborators = tuple(getattr(definition, "collaborators", ()))
    visibility = getattr(definition, "visibility", "team")
    if who.role != "admin" and who.subject != acl.owner and acl.owner is not None and (
            (owner, collaborators, visibility) != (acl.owner, acl.collaborators, acl.visibility)):
        raise problem(403, f"{what}: only its owner changes its owner, collaborators or visibility")
    existing = record.versions.get(definition.version)
    if existing is not None and existing.checksum and existing.checksum != digest:
        raise problem(409, f"{what} version {definition.version} is published with other "
                           "content; publish a new version")


def definitions_router(ctx: ApiContext) -> APIRouter:
    """Endpoints under ``/definitions``, and ``/workflows`` and ``/rules`` (``catalogue_api``)."""
    router = APIRouter(tags=["definitions"])
    caller = Depends(ctx.tokens.dependency)

    @router.post("/definitions", status_code=201, summary="Validate and publish a definition")
    async def publish(definition: Annotated[dict[str, Any], Body(
            description="a workflow or rule definition, as JSON")],
            reason: Annotated[str, Query(max_length=2000,
                                         description="why (a change note, kept in the history)")] = "",
            who: Principal = caller) -> PublishedOut:
        _may_edit(ctx, who, definition)
        report = validate_definition(definition)
        if report.definition is None:
            raise problem(422, f"invalid definition: {len(report.errors)} problem(s)",
                          _items(report.errors))
        parsed = report.definition
        body = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
        digest = checksum(body)
        _check_publish(ctx, who, parsed, digest)
        event = DefinitionPublished(kind=parsed.kind, definition_id=parsed.id,
                                    version=parsed.version, definition=body,
                                    status=parsed.status, published_at=ctx.clock(),
                                    published_by=who.subject, checksum=digest, reason=reason)
        await ctx.producer.send("definitions", event.key, event)
        return PublishedOut(key=event.key, kind=event.kind, definition_id=event.definition_id,
                            version=event.version, status=event.status, checksum=digest,
                            warnings=_items(report.warnings))

    @router.get("/definitions", summary="Workflows or rules, each with its versions")
    async def list_definitions(kind: Kind = "workflow", who: Principal = caller
                               ) -> list[DefinitionOut]:
        return [DefinitionOut.of(r) for r in read_definitions(ctx.store, kind)
                if allowed(who, Right.VIEW, r.acl)]

    @router.get("/definitions/{kind}/{definition_id}", summary="One definition and its versions")
    async def get_definition(kind: Kind, definition_id: str,
                             who: Principal = caller) -> DefinitionOut:
        record = _visible(ctx, who, kind, definition_id)
        return DefinitionOut.of(record)

    @router.get("/definitions/{kind}/{definition_id}/versions/{version}",
                summary="One version's definition as published (for editing it again)",
                description="`latest` names the highest published version (no version is "
                            "called that: versions are semantic), so a client opening a "
                            "definition needs one request, not two.")
    async def get_version(kind: Kind, definition_id: str, version: str,
                          who: Principal = caller) -> VersionBodyOut:
        record = _visible(ctx, who, kind, definition_id)
        if version == "latest" and record.latest is not None:
            version = record.latest
        current = record.versions.get(version)
        body = read_body(ctx.store, kind, definition_id, version) if current else None
        if current is None or body is None:
            raise problem(404, f"{kind} {definition_id!r} has no version {version!r}")
        return VersionBodyOut(kind=kind, definition_id=definition_id, version=version,
                              status=current.status, definition=body)

    @router.post("/definitions/{kind}/{definition_id}/versions/{version}/status",
                 status_code=202, summary="Activate, pause or deprecate a version")
    async def change_status(kind: Kind, definition_id: str, version: str, change: StatusChange,
                            who: Principal = caller) -> StatusOut:
        record = _visible(ctx, who, kind, definition_id)
        check(who, Right.EDIT, record.acl, f"{kind} {definition_id!r}")
        current = record.versions.get(version)
        if current is None:
            raise problem(404, f"{kind} {definition_id!r} has no version {version!r}")
        event = DefinitionStatusChanged(kind=kind, definition_id=definition_id, version=version,
                                        status=change.status, previous_status=current.status,
                                        changed_at=ctx.clock(), changed_by=who.subject,
                                        reason=change.reason)
        await ctx.producer.send("definitions", definition_key(kind, definition_id, version), event)
        return StatusOut(key=event.key, status=event.status, previous_status=current.status)

    from projections.catalogue_api import catalogue_router  # it builds on DefinitionOut

    router.include_router(catalogue_router(ctx))
    return router


def _may_edit(ctx: ApiContext, who: Principal, body: dict[str, Any]) -> None:
    """Refuse before validating: an existing definition by its ACL, a new one by role."""
    kind, definition_id = definition_kind(body), body.get("id")
    record = (ctx.definition(kind, definition_id)
              if kind is not None and isinstance(definition_id, str) else None)
    if record is None:
        require(who, Right.EDIT)
    else:
        check(who, Right.EDIT, record.acl, f"{kind} {definition_id!r}")


def _visible(ctx: ApiContext, who: Principal, kind: str, definition_id: str) -> DefinitionRecord:
    record = ctx.definition(kind, definition_id)
    what = f"{kind} {definition_id!r}"
    if record is None:
        raise problem(404, f"{what} not found")
    check(who, Right.VIEW, record.acl, what)
    return record
