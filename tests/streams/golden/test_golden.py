"""Golden histories: the recorded event lists of `scenarios.SCENARIOS` must not change.

A core change that alters a recorded history fails here. If the change is intended,
regenerate with ``HEADWATER_REGEN_GOLDEN=1 .venv/bin/pytest tests/streams/golden`` and
review the JSON diff like any other code change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.commands import parse_command
from schemas.definitions import WorkflowDefinition
from schemas.executions import parse_event
from streams.machine import State, check_determinism, replay
from tests.streams.golden.scenarios import SCENARIOS, Scenario
from tests.streams.machine.driver import Run

HISTORIES = Path(__file__).parent / "histories"
REGENERATE = os.environ.get("HEADWATER_REGEN_GOLDEN") == "1"


def _record(scenario: Scenario) -> dict[str, Any]:
    run = Run(WorkflowDefinition.model_validate(scenario.definition))
    for other in scenario.versions:
        run.add_version(WorkflowDefinition.model_validate(other))
    run.start(scenario.input)
    scenario.script(run)
    versions = {"versions": list(scenario.versions)} if scenario.versions else {}
    return {
        **versions,
        "definition": scenario.definition,
        "history": [
            {"command": command.model_dump(mode="json"),
             "events": [e.model_dump(mode="json") for e in events]}
            for command, events in run.history
        ],
        "state": orjson.loads(run.live.to_bytes()),
    }


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_history_is_unchanged_and_replays_to_the_recorded_state(scenario: Scenario) -> None:
    path = HISTORIES / f"{scenario.name}.json"
    live = _record(scenario)
    if REGENERATE or not path.exists():
        path.write_bytes(orjson.dumps(live, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        if not REGENERATE:
            pytest.fail(f"recorded a new golden history {path.name}; commit it")
    golden = orjson.loads(path.read_bytes())
    assert live["history"] == golden["history"], "the core now decides differently"

    events = [parse_event(e) for step in golden["history"] for e in step["events"]]
    assert replay(events) == State.from_dict(golden["state"])

    definition = WorkflowDefinition.model_validate(golden["definition"])
    recorded = [(parse_command(step["command"]), [parse_event(e) for e in step["events"]])
                for step in golden["history"]]
    others = [WorkflowDefinition.model_validate(v) for v in golden.get("versions", [])]
    assert check_determinism(definition, recorded, {v.version: v for v in others}) == []


def test_every_step_type_and_error_mode_has_a_golden_history() -> None:
    step_types: set[str] = set()
    handling: set[str] = set()
    for scenario in SCENARIOS:
        for step in _walk(scenario.definition["steps"]):
            step_types.add(step["type"])
        text = orjson.dumps(_record(scenario)["history"]).decode()
        handling |= {mode for mode in ("fail", "continue", "goto")
                     if f'"handling":"{mode}"' in text}
    assert step_types == {"action", "condition", "loop", "parallel", "subprocess", "wait"}
    assert handling == {"fail", "continue", "goto"}


def test_a_changed_event_is_caught_by_the_determinism_gate() -> None:
    golden = orjson.loads((HISTORIES / "action_sequence.json").read_bytes())
    recorded = [(parse_command(step["command"]), [parse_event(e) for e in step["events"]])
                for step in golden["history"]]
    command, events = recorded[0]
    tampered = events[3].model_copy(update={"task_type": "smtp"})
    recorded[0] = (command, [*events[:3], tampered, *events[4:]])
    divergences = check_determinism(
        WorkflowDefinition.model_validate(golden["definition"]), recorded)
    assert [(d.index, d.event_index) for d in divergences] == [(0, 3)]
    assert divergences[0].actual is not None and divergences[0].actual["task_type"] == "http"


def _walk(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for step in steps:
        found.append(step)
        found += _walk(step.get("steps", []))
        for branch in step.get("branches", []):
            found += _walk(branch.get("steps", []))
    return found
