"""Validation of workflow and rule definitions, and loading them from YAML or JSON.

Every problem is reported at once, each with a JSON path, a code and a message; warnings
are kept apart from errors. See docs/language.md for the list of codes.

Example:
    >>> report = validate_workflow({"id": "hi", "name": "Hi",
    ...                             "steps": [{"id": "a", "action": "log", "next": "b"}]})
    >>> report.codes()
    [('$.steps[0].next', 'unknown_step')]
"""

from schemas.validation._jsonschema import definition_json_schema, json_schemas
from schemas.validation._load import (
    definition_kind,
    load_definition,
    load_directory,
    parse_text,
    validate_definition,
)
from schemas.validation._report import Definition, DefinitionInvalid, Problem, ValidationReport
from schemas.validation._rule import check_rule, validate_rule
from schemas.validation._workflow import check_workflow, validate_workflow

__all__ = [
    "Definition",
    "DefinitionInvalid",
    "Problem",
    "ValidationReport",
    "check_rule",
    "check_workflow",
    "definition_json_schema",
    "definition_kind",
    "json_schemas",
    "load_definition",
    "load_directory",
    "parse_text",
    "validate_definition",
    "validate_rule",
    "validate_workflow",
]
