"""Where secret references may be written, and how."""

from __future__ import annotations

from schemas.definitions import ActionStep, RuleDefinition, WorkflowDefinition
from schemas.expressions import json_path_key
from schemas.secrets import Path, malformed_references, template_references
from schemas.validation._graph import FlowGraph
from schemas.validation._report import Problem


def check_secrets(
    definition: WorkflowDefinition | RuleDefinition, graph: FlowGraph | None = None
) -> list[Problem]:
    """Malformed ``{{ secrets… }}`` anywhere, and references outside an HTTP step's ``with``
    (only the HTTP action resolves them; elsewhere they would stay text, or worse, be logged).
    A rule has no HTTP step: it may not reference secrets at all."""
    document = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    problems = [
        Problem(
            _json_path(path),
            "invalid_secret_reference",
            f"{text!r}: write {{{{ secrets.NAME }}}} (letters, digits, _)",
        )
        for path, text in malformed_references(document)
    ]
    nodes = graph.nodes if graph is not None else []
    allowed = {
        node.path + ".with"
        for node in nodes
        if isinstance(node.step, ActionStep) and node.step.action == "http"
    }
    for path in template_references(document):
        where = _json_path(path)
        if not any(
            where == prefix or where.startswith((prefix + ".", prefix + "[")) for prefix in allowed
        ):
            problems.append(
                Problem(
                    where,
                    "secret_not_resolved_here",
                    "secrets are resolved only in the `with` of http steps",
                )
            )
    return problems


def _json_path(path: Path) -> str:
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else json_path_key(part)
    return text
