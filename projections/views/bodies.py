"""Definition bodies by version, and the webhook routes of workflows' webhook triggers.

Keys ``dbody/<kind>/<id>@<version>`` (the definition as published: the designer opens it, the
webhook endpoint renders its trigger's ``input``) and ``wh/<path>`` (which workflow a
``/webhooks/<path>`` request starts). A workflow's routes follow its newest active version:
they are recomputed after every definition event of the workflow, so pausing it or publishing
a version with another path moves them. Two workflows claiming one path: the later event wins.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from projections.views._tx import Reader, Tx
from projections.views.definitions import DefinitionRecord, definition_key, version_order
from schemas.definition_events import DefinitionEvent, DefinitionPublished

__all__ = ["DefinitionBody", "WebhookRoute", "apply_body_event", "newest_active",
           "read_body", "read_route"]


class DefinitionBody(BaseModel):
    """One version's definition, as published (JSON)."""

    definition: dict[str, Any]


class WebhookRoute(BaseModel):
    """The workflow a webhook path starts."""

    workflow_id: str


def body_key(kind: str, definition_id: str, version: str) -> str:
    """The key of one version's body."""
    return f"dbody/{kind}/{definition_id}@{version}"


def route_key(path: str) -> str:
    """The key of a webhook path's route."""
    return f"wh/{path}"


def newest_active(record: DefinitionRecord) -> str | None:
    """The newest active version of a definition, or None."""
    active = [v for v, view in record.versions.items() if view.status == "active"]
    return max(active, key=version_order, default=None)


def apply_body_event(tx: Tx, event: DefinitionEvent, record: DefinitionRecord) -> None:
    """Keep the body of a published version; recompute a workflow's webhook routes.

    Args:
        tx: The view transaction.
        event: The definition event just folded.
        record: The definition's record after that event.
    """
    if isinstance(event, DefinitionPublished):
        tx.save(body_key(event.kind, event.definition_id, event.version),
                DefinitionBody(definition=event.definition))
    if event.kind == "workflow":
        _reroute(tx, record)


def _reroute(tx: Tx, record: DefinitionRecord) -> None:
    version = newest_active(record)
    body = tx.load(body_key("workflow", record.definition_id, version), DefinitionBody) \
        if version is not None else None
    paths = webhook_paths(body.definition) if body is not None else []
    for stale in set(record.webhook_paths) - set(paths):
        route = tx.load(route_key(stale), WebhookRoute)
        if route is not None and route.workflow_id == record.definition_id:
            tx.delete(route_key(stale))
    for path in paths:
        tx.save(route_key(path), WebhookRoute(workflow_id=record.definition_id))
    if paths != record.webhook_paths:
        tx.save(definition_key("workflow", record.definition_id),
                record.model_copy(update={"webhook_paths": paths}))


def webhook_paths(definition: dict[str, Any]) -> list[str]:
    """The paths of a workflow body's webhook triggers (a trigger without one: its id)."""
    triggers = definition.get("triggers") or []
    return sorted({str(t.get("path") or definition.get("id")) for t in triggers
                   if isinstance(t, dict) and t.get("type") == "webhook"})


def read_body(reader: Reader, kind: str, definition_id: str,
              version: str) -> dict[str, Any] | None:
    """One version's definition as published, or None."""
    data = reader.get(body_key(kind, definition_id, version))
    return None if data is None else DefinitionBody.model_validate_json(data).definition


def read_route(reader: Reader, path: str) -> str | None:
    """The workflow a ``/webhooks/<path>`` request starts, or None."""
    data = reader.get(route_key(path))
    return None if data is None else WebhookRoute.model_validate_json(data).workflow_id
