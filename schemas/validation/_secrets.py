"""Where secret references may be written, and how."""

from __future__ import annotations

from schemas.definitions import ActionStep, CallWebhook, RuleDefinition, WorkflowDefinition
from schemas.expressions import json_path_key
from schemas.secrets import Path, malformed_references, template_references
from schemas.validation._graph import FlowGraph
from schemas.validation._report import Problem


def check_secrets(
    definition: WorkflowDefinition | RuleDefinition, graph: FlowGraph | None = None
) -> list[Problem]:
    """Malformed ``{{ secrets… }}`` anywhere, and references outside an HTTP step's ``with``
    (only the HTTP action resolves them; elsewhere they would stay text, or worse, be logged).
    In a rule, only a `call_webhook`'s `headers` and `body` may reference them (the call runs
    as an HTTP step); its `url` may not: URL normalisation escapes the reference's braces and
    spaces, so it would be sent as text."""
    document = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    problems = [
        Problem(
            _json_path(path),
            "invalid_secret_reference",
            f"{text!r}: write {{{{ secrets.NAME }}}} (letters, digits, _)",
        )
        for path, text in malformed_references(document)
    ]
    allowed = _allowed(definition, graph)
    for path in template_references(document):
        where = _json_path(path)
        if not any(
            where == prefix or where.startswith((prefix + ".", prefix + "[")) for prefix in allowed
        ):
            problems.append(
                Problem(
                    where,
                    "secret_not_resolved_here",
                    "secrets are resolved only in the `with` of http steps and in the "
                    "`headers` and `body` of a rule's call_webhook",
                )
            )
    if isinstance(definition, RuleDefinition):
        problems += _webhook_urls(definition)
    return problems


def _allowed(definition: WorkflowDefinition | RuleDefinition, graph: FlowGraph | None) -> set[str]:
    if isinstance(definition, RuleDefinition):
        return {
            f"$.actions[{i}].{part}"
            for i, action in enumerate(definition.actions)
            if isinstance(action, CallWebhook)
            for part in ("headers", "body")
        }
    nodes = graph.nodes if graph is not None else []
    return {
        node.path + ".with"
        for node in nodes
        if isinstance(node.step, ActionStep) and node.step.action == "http"
    }


def _webhook_urls(rule: RuleDefinition) -> list[Problem]:
    # `{{ secrets.X }}` in an HttpUrl comes out as `{{%20secrets.X%20}}`: no longer a reference.
    return [
        Problem(
            f"$.actions[{i}].url",
            "secret_not_resolved_here",
            "a webhook URL cannot reference secrets: send them in `headers` (or `body`)",
        )
        for i, action in enumerate(rule.actions)
        if isinstance(action, CallWebhook) and "secrets" in str(action.url)
        and ("{{" in str(action.url) or "%7B%7B" in str(action.url).upper())
    ]


def _json_path(path: Path) -> str:
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else json_path_key(part)
    return text
