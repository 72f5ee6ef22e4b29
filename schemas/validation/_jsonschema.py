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
    _optional_step_type(schema)
    _short_forms(schema)
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"https://headwater.dev/schemas/{kind}.json",
        **schema,
    }


def _optional_step_type(schema: dict[str, Any]) -> None:
    # Authors may leave out a step's `type` (it is inferred from `action:`, `for_each:` …), but
    # pydantic exports discriminators as required; each step schema forbids the others' keys, so
    # `oneOf` still picks exactly one.
    for name in (
        "ActionStep",
        "ConditionStep",
        "LoopStep",
        "ParallelStep",
        "SubprocessStep",
        "WaitStep",
    ):
        definition = schema.get("$defs", {}).get(name)
        if definition and "type" in definition.get("required", []):
            definition["required"] = [r for r in definition["required"] if r != "type"]


def _short_forms(schema: dict[str, Any]) -> None:
    # Models that also accept a bare string (validated by a `mode="before"` hook pydantic
    # cannot export) get that alternative spelled out.
    defs = schema.get("$defs", {})
    if "ErrorHandling" in defs:
        defs["ErrorHandling"] = {"anyOf": [{"enum": ["fail", "continue"]}, defs["ErrorHandling"]]}


def json_schemas() -> dict[str, dict[str, Any]]:
    """Both schemas, keyed by kind."""
    return {kind: definition_json_schema(kind) for kind in ("workflow", "rule")}
