"""What a ``/webhooks/<target>`` request names, and the input it starts a workflow with.

A target is ``workflow/<id>`` or ``rule/<id>`` (always), or the ``path`` of a workflow's webhook
trigger (``github/releases``; a trigger without a path answers at its workflow's id). Either way
the signing secrets are the definition's (``<kind>/<id>``), and a workflow with a webhook
trigger gets the trigger's ``input`` mapping rendered over the request (``event``, ``now``), as
an event trigger's input is rendered over its event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views import newest_active, read_body, read_route
from projections.views.definitions import DefinitionRecord
from schemas.expressions import ExpressionError, compile_mapping

__all__ = ["WebhookTarget", "find_target"]


@dataclass(frozen=True)
class WebhookTarget:
    """The definition a webhook request is for.

    Attributes:
        kind: ``workflow`` or ``rule``.
        definition_id: Its id.
        trigger: The workflow's matching webhook trigger as published (None: none declared).
        index: The trigger's position in ``triggers`` (for error paths).
        active: Whether a version is active (a paused one answers 409).
    """

    kind: str
    definition_id: str
    trigger: dict[str, Any] | None = None
    index: int = 0
    active: bool = True

    @property
    def secret_target(self) -> str:
        """Whose secrets sign requests to it."""
        return f"{self.kind}/{self.definition_id}"

    def render_input(self, event: dict[str, Any], now: datetime) -> dict[str, Any]:
        """The execution's input: the trigger's ``input`` rendered, else the body.

        Raises:
            HTTPException: 422 naming the mapping when it does not render over the request.
        """
        mapping = (self.trigger or {}).get("input")
        if mapping is None:
            data = event.get("data")
            return data if isinstance(data, dict) else {"body": data}
        try:
            rendered = compile_mapping(mapping).render({"event": event, "now": now.isoformat()})
        except ExpressionError as exc:
            path = f"$.triggers[{self.index}].input"
            raise problem(422, "the webhook trigger's input does not render over this request",
                          [ErrorItem(path=path, code=exc.code, message=str(exc))]) from None
        return rendered if isinstance(rendered, dict) else {"value": rendered}


def find_target(ctx: ApiContext, target: str) -> WebhookTarget | None:
    """The definition `target` names, or None when nothing answers there."""
    kind, _, rest = target.partition("/")
    explicit = kind in ("workflow", "rule") and rest != ""
    record = ctx.definition(kind, rest) if explicit else None
    if record is None:
        workflow_id = read_route(ctx.store, target)
        record = ctx.definition("workflow", workflow_id) if workflow_id is not None else None
        explicit = False
    if record is None:
        return None
    if record.kind == "rule" or not record.active:
        return WebhookTarget(record.kind, record.definition_id, active=record.active)
    return _workflow_target(ctx, record, None if explicit else target)


def _workflow_target(ctx: ApiContext, record: DefinitionRecord, path: str | None) -> WebhookTarget:
    version = newest_active(record)
    body = read_body(ctx.store, "workflow", record.definition_id, version) if version else None
    triggers = (body or {}).get("triggers") or []
    for i, trigger in enumerate(triggers):
        if not isinstance(trigger, dict) or trigger.get("type") != "webhook":
            continue
        if path is None or (trigger.get("path") or record.definition_id) == path:
            return WebhookTarget("workflow", record.definition_id, trigger, i)
    return WebhookTarget("workflow", record.definition_id)
