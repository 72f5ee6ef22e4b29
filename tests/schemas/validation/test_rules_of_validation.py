"""Every validation rule: a definition that breaks it, and the exact path and code."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.validation import validate_rule, validate_workflow


def wf(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "wf", "name": "WF", "steps": steps, **extra}


def log(step_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "action": "log", **extra}


WORKFLOW_ERRORS = [
    ("unknown next", wf([log("a", next="nope")]), [("$.steps[0].next", "unknown_step")]),
    ("duplicate id", wf([log("a"), log("a")]), [("$.steps[1].id", "duplicate_step")]),
    ("unreachable", wf([log("a", next="$end"), log("b")]), [("$.steps[1]", "unreachable_step")]),
    ("cycle", wf([log("a"), log("b", next="a")]), [("$.steps[1].next", "cycle")]),
    (
        "cycle via error path",
        wf([log("a"), log("b", on_error={"action": "goto", "goto": "a"})]),
        [("$.steps[1].on_error.goto", "cycle")],
    ),
    (
        "branch never joins",
        wf(
            [
                {
                    "id": "p",
                    "type": "parallel",
                    "branches": [
                        {"name": "x", "steps": [log("x1", next="after")]},
                        {"name": "y", "steps": [log("y1")]},
                    ],
                },
                log("after"),
            ]
        ),
        [("$.steps[0].branches[0].steps[0].next", "branch_never_joins")],
    ),
    (
        "jump out of a loop body",
        wf([{"id": "l", "for_each": "input.xs", "steps": [log("b", next="z")]}, log("z")]),
        [("$.steps[0].steps[0].next", "out_of_scope")],
    ),
    (
        "expression does not compile",
        wf(
            [
                {"id": "c", "type": "condition", "branches": [{"when": "input.x >", "next": "a"}]},
                log("a"),
            ]
        ),
        [("$.steps[0].branches[0].when", "invalid_expression")],
    ),
    (
        "mapping expression does not compile",
        wf([log("a", **{"with": {"m": ["${ 1 + }"]}})]),
        [("$.steps[0].with.m[0]", "invalid_expression")],
    ),
    (
        "unknown name in an expression",
        wf([log("a", **{"with": {"m": "${ secrets.key }"}})]),
        [("$.steps[0].with.m", "unknown_variable")],
    ),
    (
        "item outside a loop",
        wf([log("a", input="${ item }")]),
        [("$.steps[0].input", "unknown_variable")],
    ),
    (
        "variable read before written",
        wf(
            [
                log("a", **{"with": {"m": "${ vars.total }"}}),
                log("b", output={"total": "${ output }"}),
            ]
        ),
        [("$.steps[0].with.m", "undefined_variable")],
    ),
    (
        "unknown step in an expression",
        wf([log("a", input="${ steps.ghost.output }")]),
        [("$.steps[0].input", "unknown_step")],
    ),
    (
        "invalid cron",
        wf([log("a")], triggers=[{"type": "schedule", "cron": "61 * * * *"}]),
        [("$.triggers[0].cron", "invalid_cron")],
    ),
    (
        "invalid time zone",
        wf(
            [log("a")],
            triggers=[{"type": "schedule", "cron": "0 * * * *", "timezone": "Mars/Olympus"}],
        ),
        [("$.triggers[0].timezone", "invalid_timezone")],
    ),
    (
        "schedule without cron or interval",
        wf([log("a")], triggers=[{"type": "schedule"}]),
        [("$.triggers[0]", "invalid_schedule")],
    ),
    (
        "subprocess names itself",
        wf([{"id": "s", "type": "subprocess", "workflow_id": "wf"}]),
        [("$.steps[0].workflow_id", "self_subprocess")],
    ),
    (
        "bad version range",
        wf([{"id": "s", "type": "subprocess", "workflow_id": "other", "version": "^^1"}]),
        [("$.steps[0].version", "invalid_version_range")],
    ),
    (
        "retry attempts out of range",
        wf([log("a", retry={"max_attempts": 1000})]),
        [("$.steps[0].retry.max_attempts", "out_of_range")],
    ),
    (
        "loop bound out of range",
        wf([{"id": "l", "while": "true", "max_iterations": 10**6, "steps": [log("b")]}]),
        [("$.steps[0].max_iterations", "out_of_range")],
    ),
    (
        "jitter out of range",
        wf([log("a")], retry={"jitter": 1.5}),
        [("$.retry.jitter", "out_of_range")],
    ),
    (
        "concurrency limit out of range",
        wf([log("a")], concurrency_limit=0),
        [("$.concurrency_limit", "out_of_range")],
    ),
    (
        "cap below start",
        wf([log("a", retry={"initial_interval": "10m", "max_interval": "1m"})]),
        [("$.steps[0].retry", "out_of_range")],
    ),
    (
        "loop with both kinds",
        wf(
            [
                {
                    "id": "l",
                    "type": "loop",
                    "for_each": "input.x",
                    "while": "true",
                    "steps": [log("b")],
                }
            ]
        ),
        [("$.steps[0]", "invalid_loop")],
    ),
    ("wait with no kind", wf([{"id": "w", "type": "wait"}]), [("$.steps[0]", "invalid_wait")]),
    ("unknown step type", wf([{"id": "x", "type": "teleport"}]), [("$.steps[0]", "unknown_type")]),
    ("unknown field", wf([log("a", colour="blue")]), [("$.steps[0].colour", "unknown_field")]),
    (
        "missing field",
        wf([{"id": "s", "type": "subprocess"}]),
        [("$.steps[0].workflow_id", "missing_field")],
    ),
    ("bad duration", wf([log("a", timeout="soon")]), [("$.steps[0].timeout", "invalid_duration")]),
    (
        "bad id",
        {"id": "Not A Slug", "name": "x", "steps": [log("a")]},
        [("$.id", "invalid_format")],
    ),
    ("empty steps", wf([]), [("$.steps", "out_of_range")]),
    ("unknown start_at", wf([log("a")], start_at="zzz"), [("$.start_at", "unknown_step")]),
    (
        "goto needs a target",
        wf([log("a", on_error={"action": "goto"})]),
        [("$.steps[0].on_error", "invalid_error_handling")],
    ),
    (
        "hybrid dependency cycle",
        wf([log("a", depends_on=["b"]), log("b", depends_on=["a"])], execution_mode="hybrid"),
        [("$.steps[1].depends_on[0]", "cycle")],
    ),
    (
        "hybrid unknown dependency",
        wf([log("a", depends_on=["x"])], execution_mode="hybrid"),
        [("$.steps[0].depends_on[0]", "unknown_step")],
    ),
    (
        "bad trigger condition",
        wf([log("a")], triggers=[{"type": "event", "type_pattern": "x", "condition": {"$zz": {}}}]),
        [('$.triggers[0].condition["$zz"]', "unknown_operator")],
    ),
    (
        "duplicate branch names",
        wf(
            [
                {
                    "id": "p",
                    "type": "parallel",
                    "branches": [
                        {"name": "x", "steps": [log("a")]},
                        {"name": "x", "steps": [log("b")]},
                    ],
                }
            ]
        ),
        [("$.steps[0].branches[1].name", "duplicate_branch")],
    ),
    ("permissions were removed", wf([log("a")], permissions=["finance"]),
     [("$.permissions", "removed_field")]),
]


@pytest.mark.parametrize(
    ("case", "data", "expected"), WORKFLOW_ERRORS, ids=[c[0] for c in WORKFLOW_ERRORS]
)
def test_workflow_error(case: str, data: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    report = validate_workflow(data)
    assert report.codes() == expected, case
    assert report.definition is None


WORKFLOW_WARNINGS = [
    (
        "step may not have run",
        wf([log("a", input="${ steps.b.output }"), log("b")]),
        [("$.steps[0].input", "step_not_upstream")],
    ),
    (
        "signal wait without timeout",
        wf([{"id": "w", "signal": "go"}]),
        [("$.steps[0].timeout", "unbounded_wait")],
    ),
    (
        "single branch",
        wf([{"id": "p", "type": "parallel", "branches": [{"name": "x", "steps": [log("a")]}]}]),
        [("$.steps[0].branches", "single_branch")],
    ),
    (
        "depends_on in sequential mode",
        wf([log("a"), log("b", depends_on=["a"])]),
        [("$.steps[1].depends_on", "ignored_field")],
    ),
    (
        "http without url",
        wf([{"id": "h", "action": "http", "with": {"method": "GET"}}]),
        [("$.steps[0].with", "missing_param")],
    ),
    (
        "condition at the end without default",
        wf([log("a", next="c"), log("b", next="$end"), {
            "id": "c", "type": "condition", "branches": [{"when": "input.x == 1", "next": "b"}]}]),
        [("$.steps[2].default", "ends_silently")],
    ),
    (
        "condition at the end of a loop body without default",
        wf([{"id": "l", "for_each": "input.xs", "steps": [
            {"id": "c", "type": "condition", "branches": [{"when": "item == 1", "next": "$end"}]}]}]),
        [("$.steps[0].steps[0].default", "ends_silently")],
    ),
    (
        "step timeout beyond workflow's",
        wf([log("a", timeout="2h")], timeout="1h"),
        [("$.steps[0].timeout", "timeout_exceeds_workflow")],
    ),
    (
        "alert channels without alerts",
        wf([log("a")], monitoring={"alert_channels": ["ops"]}),
        [("$.monitoring.alert_channels", "no_effect")],
    ),
]


@pytest.mark.parametrize(
    ("case", "data", "expected"), WORKFLOW_WARNINGS, ids=[c[0] for c in WORKFLOW_WARNINGS]
)
def test_workflow_warning(case: str, data: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    report = validate_workflow(data)
    assert report.errors == [], case
    assert report.codes("warnings") == expected
    assert report.definition is not None


def test_every_problem_is_reported_at_once() -> None:
    report = validate_workflow(
        wf(
            [
                log("a", next="ghost"),
                log("b", input="${ nope }"),
                {"id": "s", "type": "subprocess", "workflow_id": "wf"},
                log("b"),
            ]
        )
    )
    assert set(report.codes()) >= {
        ("$.steps[0].next", "unknown_step"),
        ("$.steps[1].input", "unknown_variable"),
        ("$.steps[2].workflow_id", "self_subprocess"),
        ("$.steps[3].id", "duplicate_step"),
    }


def test_schema_errors_are_all_reported_at_once() -> None:
    report = validate_workflow(
        {"id": "Bad", "name": "", "steps": [log("a", retry={"jitter": 9})], "concurrency_limit": -1}
    )
    assert set(report.codes()) == {
        ("$.id", "invalid_format"),
        ("$.name", "empty_value"),
        ("$.steps[0].retry.jitter", "out_of_range"),
        ("$.concurrency_limit", "out_of_range"),
    }


def test_loop_body_sees_item_and_declared_vars_flow() -> None:
    report = validate_workflow(
        wf(
            [
                {
                    "id": "l",
                    "for_each": "input.xs",
                    "steps": [
                        log("a", output={"last": "${ item }"}),
                        log("b", input="${ vars.last }"),
                    ],
                },
                log("c", input="${ vars.last + steps.a.output }"),
            ]
        )
    )
    assert report.ok, report.errors
    assert report.warnings == []


def test_a_catch_path_sees_what_ran_before_the_failure() -> None:
    report = validate_workflow(
        wf(
            [
                log("a", output={"x": "${ output }"}),
                log("b", on_error={"action": "goto", "goto": "recover"}, next="$end"),
                log("recover", input="${ vars.x } ${ error.message }"),
            ]
        )
    )
    assert report.ok, report.errors


RULE_ERRORS = [
    (
        "bad condition",
        {"conditions": {"$and": [{"$gt": {"data.x": 1}}, {"$nope": {"a": 1}}]}},
        [('$.conditions["$and"][1]["$nope"]', "unknown_operator")],
    ),
    (
        "$expr reads an unknown name",
        {"conditions": {"$expr": "vars.x > 1"}},
        [('$.conditions["$expr"]', "unknown_variable")],
    ),
    (
        "action mapping does not compile",
        {"actions": [{"workflow_id": "w", "input": {"a": "${ event. }"}}]},
        [("$.actions[0].input.a", "invalid_expression")],
    ),
    (
        "bad version range",
        {"actions": [{"workflow_id": "w", "version": "one"}]},
        [("$.actions[0].version", "invalid_version_range")],
    ),
    ("scheduled rule without schedule", {"type": "scheduled"}, [("$", "missing_schedule")]),
    (
        "bad cron in a schedule",
        {"type": "scheduled", "schedule": {"cron": "every day"}},
        [("$.schedule.cron", "invalid_cron")],
    ),
    (
        "threshold count out of range",
        {"pattern": {"kind": "threshold", "count": 1, "within": "1m"}},
        [("$.pattern.count", "out_of_range")],
    ),
    (
        "bad sequence step",
        {
            "pattern": {
                "kind": "sequence",
                "within": "1m",
                "steps": [{"type": "a"}, {"$mt": {"x": "["}}],
            }
        },
        [('$.pattern.steps[1]["$mt"].x', "invalid_regex")],
    ),
    ("no actions", {"actions": []}, [("$.actions", "out_of_range")]),
    (
        "bad webhook url",
        {"actions": [{"type": "call_webhook", "url": "not a url"}]},
        [("$.actions[0].url", "invalid_url")],
    ),
    (
        "signal needs an expression",
        {"actions": [{"type": "signal_execution", "execution_id": "event.", "signal": "s"}]},
        [("$.actions[0].execution_id", "invalid_expression")],
    ),
    ("a rule's timeout was removed", {"timeout": "5m"}, [("$.timeout", "removed_field")]),
]


@pytest.mark.parametrize(
    ("case", "changes", "expected"), RULE_ERRORS, ids=[c[0] for c in RULE_ERRORS]
)
def test_rule_error(case: str, changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    data = {
        "id": "r",
        "name": "R",
        "trigger": {"event_type": "order.*"},
        "actions": [{"workflow_id": "w"}],
        **changes,
    }
    assert validate_rule(data).codes() == expected, case


def test_rule_warnings() -> None:
    report = validate_rule(
        {"id": "r", "name": "R", "actions": [{"workflow_id": "w"}], "batch": {"size": 5}}
    )
    assert report.codes("warnings") == [
        ("$.batch", "ignored_field"),
        ("$.trigger.event_type", "matches_everything"),
    ]


def test_fields_that_work_draw_no_warning() -> None:
    # log_level filters the workflow's `log` steps (docs/architecture.md, "Execution logs")
    report = validate_workflow(wf([log("a")], monitoring={
        "log_level": "error", "alert_on_failure": True, "alert_channels": ["ops"]}))
    assert report.errors == [] and report.warnings == []


def test_removed_fields_still_load_from_definitions_published_before() -> None:
    from schemas.definitions import RuleDefinition, WorkflowDefinition

    old = WorkflowDefinition.model_validate(wf([log("a")], permissions=["finance"]))
    assert old.permissions == ["finance"]
    rule = RuleDefinition.model_validate({"id": "r", "name": "R", "timeout": "5m",
                                          "actions": [{"workflow_id": "w"}]})
    assert rule.timeout == 300
