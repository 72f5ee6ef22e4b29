"""``/templates``: the bundled examples and the templates users saved, searched and
instantiated.

Bundled templates are the example workflows that ship with headwater (read once at start);
user templates are ``TemplateSaved`` events on ``hw.definitions``, folded into a view. One
list pages over both by id (``cursor``: the last id of the page), filtered by category, tag,
source and a text query. Instantiating renders ``{{ params.NAME }}`` and validates the
workflow it makes (nothing is published: the client publishes with ``POST /definitions``).
Saving needs the edit right; replacing or deleting a template, being its owner or an admin.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from projections.access import Principal, Right
from projections.auth import check, require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views import read_body
from projections.views.templates import page_templates, read_template
from schemas.template_events import TemplateDeleted, TemplateParameter, TemplateSaved
from schemas.templates import SAMPLES, check_values, placeholders, render
from schemas.validation import Problem, parse_text, validate_definition

__all__ = ["TemplateOut", "TemplatePage", "bundled_templates", "templates_router"]

limit_q = Annotated[int, Query(ge=1, le=200)]
Source = Literal["bundled", "user"]


class TemplateOut(BaseModel):
    """A template as listed (``definition`` only in ``GET /templates/{id}``)."""

    template_id: str
    source: Source
    name: str
    description: str
    category: str | None
    tags: list[str]
    parameters: list[TemplateParameter]
    steps: int
    saved_by: str | None = None
    saved_at: datetime | None = None
    definition: dict[str, Any] | None = None


class TemplatePage(BaseModel):
    """One page of templates, by id."""

    items: list[TemplateOut]
    next_cursor: str | None = None


class FromWorkflow(BaseModel):
    """A published workflow version to save as a template (latest when ``version`` is null)."""

    workflow_id: str
    version: str | None = None


class SaveRequest(BaseModel):
    """A template: its definition (with placeholders), or a published workflow to copy."""

    template_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,127}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    category: str | None = None
    tags: list[str] = []
    parameters: list[TemplateParameter] = []
    definition: dict[str, Any] | None = None
    from_workflow: FromWorkflow | None = None


class InstantiateRequest(BaseModel):
    """The parameter values, and the id (and name) of the workflow to make."""

    parameters: dict[str, Any] = {}
    workflow_id: str | None = None
    name: str | None = None


class Instantiated(BaseModel):
    """The workflow definition a template made: ready for ``POST /definitions``."""

    template_id: str
    definition: dict[str, Any]
    warnings: list[ErrorItem]


class SavedOut(BaseModel):
    """The template that was written (listed once the views have folded it)."""

    key: str
    template_id: str


def bundled_templates(folder: Path | None) -> dict[str, TemplateSaved]:
    """The example workflows of ``folder/workflows`` as templates, by id (none without it)."""
    found: dict[str, TemplateSaved] = {}
    if folder is None or not (folder / "workflows").is_dir():
        return found
    for file in sorted((folder / "workflows").glob("*.yaml")):
        report = validate_definition(parse_text(file.read_bytes()))
        if report.definition is None:
            continue
        body = report.definition.model_dump(mode="json", by_alias=True, exclude_none=True)
        found[str(body["id"])] = TemplateSaved(
            template_id=str(body["id"]), name=str(body.get("name") or body["id"]),
            description=str(body.get("description") or ""), category=body.get("category"),
            tags=tuple(body.get("tags") or ()), definition=body,
            saved_at=datetime.fromtimestamp(file.stat().st_mtime).astimezone())
    return found


def _out(template: TemplateSaved, source: Source, full: bool = False) -> TemplateOut:
    return TemplateOut(
        template_id=template.template_id, source=source, name=template.name,
        description=template.description, category=template.category, tags=list(template.tags),
        parameters=list(template.parameters), steps=len(template.definition.get("steps") or ()),
        saved_by=template.saved_by if source == "user" else None,
        saved_at=template.saved_at if source == "user" else None,
        definition=template.definition if full else None)


def _items(problems: list[Problem]) -> list[ErrorItem]:
    return [ErrorItem(path=p.path, code=p.code, message=p.message) for p in problems]


def templates_router(ctx: ApiContext, bundled: Mapping[str, TemplateSaved]) -> APIRouter:
    """``/templates`` over the bundled ``bundled`` and the user templates view."""
    router = APIRouter(tags=["templates"])
    caller = Depends(ctx.tokens.dependency)
    ordered = sorted(bundled)

    def lookup(template_id: str) -> tuple[TemplateSaved, Source]:
        if template_id in bundled:
            return bundled[template_id], "bundled"
        template = read_template(ctx.store, template_id)
        if template is None:
            raise problem(404, f"template {template_id!r} not found")
        return template, "user"

    @router.get("/templates", summary="Bundled and user templates, by id (search and filter)")
    async def list_templates(
            category: str | None = None,
            tag: Annotated[str | None, Query(description="templates carrying this tag")] = None,
            q: Annotated[str | None, Query(description="words in the id, name or description")] = None,
            source: Source | None = None, limit: limit_q = 50, cursor: str | None = None,
            who: Principal = caller) -> TemplatePage:
        require(who, Right.VIEW)
        words = (q or "").lower().split()

        def keep(t: TemplateSaved) -> bool:
            text = f"{t.template_id} {t.name} {t.description}".lower()
            return ((category is None or t.category == category)
                    and (tag is None or tag in t.tags) and all(w in text for w in words))

        streams: list[Iterator[tuple[str, Source, TemplateSaved]]] = []
        if source in (None, "bundled"):
            streams.append((i, "bundled", bundled[i]) for i in ordered
                           if (cursor is None or i > cursor) and keep(bundled[i]))
        if source in (None, "user"):
            streams.append((t.template_id, "user", t) for t in page_templates(
                ctx.store, after=cursor, keep=lambda t: t.template_id not in bundled and keep(t)))
        taken = list(itertools.islice(heapq.merge(*streams, key=lambda x: x[0]), limit + 1))
        items = [_out(t, s) for _, s, t in taken[:limit]]
        return TemplatePage(items=items,
                            next_cursor=items[-1].template_id if len(taken) > limit else None)

    @router.get("/templates/{template_id}", summary="One template with its definition",
                responses={404: {"description": "No such template"}})
    async def get_template(template_id: str, who: Principal = caller) -> TemplateOut:
        require(who, Right.VIEW)
        template, source = lookup(template_id)
        return _out(template, source, full=True)

    @router.post("/templates", status_code=202, summary="Save a workflow as a template")
    async def save(request: SaveRequest, who: Principal = caller) -> SavedOut:
        require(who, Right.EDIT)
        if request.template_id in bundled:
            raise problem(409, f"template {request.template_id!r} is a bundled one: pick another id")
        existing = read_template(ctx.store, request.template_id)
        if existing is not None and who.role != "admin" and existing.saved_by != who.subject:
            raise problem(403, f"template {request.template_id!r} is {existing.saved_by}'s")
        definition = _definition(ctx, who, request)
        problems = _trial(definition, request.parameters)
        if problems:
            raise problem(422, f"the template does not make a valid workflow: {len(problems)} "
                               "problem(s)", _items(problems))
        event = TemplateSaved(
            template_id=request.template_id, name=request.name, description=request.description,
            category=request.category, tags=tuple(request.tags),
            parameters=tuple(request.parameters), definition=definition, saved_by=who.subject,
            saved_at=ctx.clock())
        await ctx.producer.send("definitions", event.key, event)
        return SavedOut(key=event.key, template_id=event.template_id)

    @router.delete("/templates/{template_id}", status_code=202, summary="Delete a user template")
    async def delete(template_id: str, who: Principal = caller) -> SavedOut:
        require(who, Right.EDIT)
        template, source = lookup(template_id)
        if source == "bundled":
            raise problem(409, f"template {template_id!r} is bundled with headwater")
        if who.role != "admin" and template.saved_by != who.subject:
            raise problem(403, f"template {template_id!r} is {template.saved_by}'s")
        event = TemplateDeleted(template_id=template_id, deleted_by=who.subject,
                                deleted_at=ctx.clock())
        await ctx.producer.send("definitions", event.key, event)
        return SavedOut(key=event.key, template_id=template_id)

    @router.post("/templates/{template_id}/instantiate",
                 summary="Render a template with parameters into a workflow (not published)")
    async def instantiate(template_id: str, request: InstantiateRequest,
                          who: Principal = caller) -> Instantiated:
        require(who, Right.VIEW)
        template, _ = lookup(template_id)
        values, problems = check_values(template.parameters, request.parameters)
        if problems:
            raise problem(422, f"invalid parameters: {len(problems)} problem(s)", _items(problems))
        body = render(template.definition, values)
        overrides = {"id": request.workflow_id, "name": request.name}
        body |= {k: v for k, v in overrides.items() if v is not None}
        body.pop("owner", None)  # the new workflow is whoever publishes it
        report = validate_definition(body)
        if report.definition is None:
            raise problem(422, f"the rendered workflow is invalid: {len(report.errors)} problem(s)",
                          _items(report.errors))
        return Instantiated(template_id=template_id, definition=body,
                            warnings=_items(report.warnings))

    return router


def _definition(ctx: ApiContext, who: Principal, request: SaveRequest) -> dict[str, Any]:
    """The template's definition: as given, or a published workflow version's body."""
    if (request.definition is None) == (request.from_workflow is None):
        raise problem(422, "invalid request", [ErrorItem(
            path="body.definition", code="one_of",
            message="give either definition or from_workflow")])
    if request.definition is not None:
        return request.definition
    source = request.from_workflow
    assert source is not None
    record = ctx.definition("workflow", source.workflow_id)
    what = f"workflow {source.workflow_id!r}"
    if record is None:
        raise problem(404, f"{what} not found")
    check(who, Right.VIEW, record.acl, what)
    version = source.version or record.latest
    body = read_body(ctx.store, "workflow", source.workflow_id, version) if version else None
    if body is None:
        raise problem(404, f"{what} has no version {version!r}")
    return body


def _trial(definition: dict[str, Any], parameters: list[TemplateParameter]) -> list[Problem]:
    """What is wrong with a template: undeclared placeholders, or the workflow it makes with
    each parameter's default (or a sample of its type) does not validate."""
    declared = {p.name for p in parameters}
    problems = [Problem("definition", "undeclared_parameter",
                        f"{{{{ params.{name} }}}} is used but not declared in parameters")
                for name in sorted(placeholders(definition) - declared)]
    if problems:
        return problems
    values = {p.name: p.default if p.default is not None else SAMPLES[p.type] for p in parameters}
    report = validate_definition(render(definition, values))
    return [Problem(f"definition{e.path.removeprefix('$')}", e.code, e.message)
            for e in report.errors]
