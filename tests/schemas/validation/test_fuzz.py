"""Random and mutated definitions never raise anything but a validation report."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.validation import validate_definition, validate_rule, validate_workflow

EXAMPLES = [
    yaml.safe_load(p.read_text())
    for p in sorted((Path(__file__).resolve().parents[3] / "examples").rglob("*.yaml"))
]
# CI runs a lighter fuzz; HEADWATER_FUZZ_EXAMPLES=10000 runs the full one (about 5 minutes on 2 cores).
EXAMPLES_PER_TEST = int(os.environ.get("HEADWATER_FUZZ_EXAMPLES", "400"))

KEYS = [
    "id",
    "name",
    "steps",
    "type",
    "action",
    "next",
    "with",
    "input",
    "output",
    "branches",
    "when",
    "default",
    "for_each",
    "while",
    "max_iterations",
    "workflow_id",
    "version",
    "duration",
    "signal",
    "event",
    "timeout",
    "retry",
    "on_error",
    "goto",
    "depends_on",
    "triggers",
    "cron",
    "timezone",
    "interval",
    "conditions",
    "actions",
    "pattern",
    "kind",
    "$and",
    "$gt",
    "$expr",
    "variables",
    "execution_mode",
    "start_at",
    "join",
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from(
        [
            "a",
            "b",
            "$end",
            "${ input.x }",
            "${ vars.y }",
            "1h",
            "*/5 * * * *",
            "loop",
            "action",
            "wait",
            "parallel",
            "UTC",
            "^1.0",
            "${ 1 + }",
        ]
    )
    | st.text(max_size=10)
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=6)
    ),
    max_leaves=30,
)


def _mutate(data: Any, choices: list[int], replacement: Any) -> Any:
    """Replace one value found by walking `choices` through the tree."""
    data = copy.deepcopy(data)
    node, parent, key = data, None, None
    for choice in choices:
        if isinstance(node, dict) and node:
            key = list(node)[choice % len(node)]
        elif isinstance(node, list) and node:
            key = choice % len(node)
        else:
            break
        parent, node = node, node[key]
    if parent is None:
        return replacement
    parent[key] = replacement
    return data


fuzz = settings(
    max_examples=EXAMPLES_PER_TEST, deadline=None, suppress_health_check=list(HealthCheck)
)


@fuzz
@given(data=json_like)
def test_random_documents_only_produce_reports(data: Any) -> None:
    for validate in (validate_workflow, validate_rule, validate_definition):
        report = validate(data)
        assert report.ok == (report.definition is not None)


@fuzz
@given(
    base=st.sampled_from(EXAMPLES),
    choices=st.lists(st.integers(0, 50), max_size=8),
    replacement=json_like,
)
def test_mutated_examples_only_produce_reports(
    base: Any, choices: list[int], replacement: Any
) -> None:
    report = validate_definition(_mutate(base, choices, replacement))
    assert report.ok == (report.definition is not None)
    for problem in report.errors + report.warnings:
        assert problem.path.startswith("$") and problem.code and problem.message
