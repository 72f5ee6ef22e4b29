"""JSON Schema of the definition kinds, for editors and the visual designer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from schemas.definitions import RuleDefinition, WorkflowDefinition

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def definition_json_schema(kind: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of `workflow` or `rule` definitions as authored.

    Raises:
        ValueError: unknown kind.
    """
    models: dict[str, type[BaseModel]] = {"workflow": WorkflowDefinition, "rule": RuleDefinition}
    if kind not in models:
        raise ValueError(f"unknown definition kind {kind!r}; use workflow or rule")
    schema = models[kind].model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://headwater.dev/schemas/{kind}.json",
        **schema,
    }


def json_schemas() -> dict[str, dict[str, Any]]:
    """Both schemas, keyed by kind."""
    return {kind: definition_json_schema(kind) for kind in ("workflow", "rule")}
