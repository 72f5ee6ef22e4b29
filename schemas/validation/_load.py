"""Reading definitions from YAML or JSON text and files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import yaml

from schemas.validation._report import Definition, DefinitionInvalid, Problem, ValidationReport
from schemas.validation._rule import validate_rule
from schemas.validation._workflow import validate_workflow

SUFFIXES = frozenset({".yaml", ".yml", ".json"})


def definition_kind(data: Mapping[str, Any]) -> str | None:
    """`workflow` or `rule`: the `kind` field, else guessed from `steps` / `actions`."""
    kind = data.get("kind")
    if kind in ("workflow", "rule"):
        return str(kind)
    if kind is None and "steps" in data and "actions" not in data:
        return "workflow"
    if kind is None and "actions" in data and "steps" not in data:
        return "rule"
    return None


def validate_definition(data: Any) -> ValidationReport:
    """Validate a workflow or a rule, told apart by `definition_kind`. Never raises."""
    if not isinstance(data, Mapping):
        return ValidationReport([Problem("$", "wrong_type", "a definition is an object")])
    kind = definition_kind(data)
    if kind == "workflow":
        return validate_workflow(data)
    if kind == "rule":
        return validate_rule(data)
    return ValidationReport([Problem("$.kind", "unknown_kind", "set `kind` to workflow or rule")])


def parse_text(text: str | bytes) -> Any:
    """Parse YAML or JSON text (JSON is YAML, but orjson reads it faster).

    Raises:
        DefinitionInvalid: the text is neither (code `parse_error`).
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        problem = Problem("$", "parse_error", f"not YAML or JSON: {exc}")
        raise DefinitionInvalid(ValidationReport([problem])) from exc


def load_definition(source: str | bytes | os.PathLike[str]) -> Definition:
    """Load a workflow or rule from text (`str`/`bytes`) or from a file (`PathLike`).

    Raises:
        DefinitionInvalid: it does not parse or does not validate; `.report` says why.
        OSError: the file cannot be read.
    """
    label = ""
    if isinstance(source, os.PathLike):
        label = os.fspath(source)
        source = Path(source).read_bytes()
    try:
        report = validate_definition(parse_text(source))
    except DefinitionInvalid as exc:
        raise DefinitionInvalid(exc.report, label) from None
    if report.definition is None:
        raise DefinitionInvalid(report, label)
    return report.definition


def load_directory(folder: str | os.PathLike[str]) -> list[Definition]:
    """Load every `.yaml`, `.yml` and `.json` definition under a folder, sorted by path.

    Raises:
        DefinitionInvalid: the first file that does not validate.
    """
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix in SUFFIXES and p.is_file())
    return [load_definition(path) for path in files]
