"""The CLI's definition commands: validate reports every problem with its path; schema exports."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from headwater.cli import app

runner = CliRunner()
EXAMPLES = Path(__file__).parents[2] / "examples"


def test_validate_accepts_the_examples() -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*/*.yaml"))
    result = runner.invoke(app, ["validate", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count("valid") == len(files)


def test_validate_reports_each_problem_with_path_and_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(orjson.dumps({"kind": "workflow", "id": "x", "name": "X",
                                  "steps": [{"id": "a", "action": "log", "next": "b"}]}))
    result = runner.invoke(app, ["validate", "--json", str(bad)])
    assert result.exit_code == 1
    [report] = orjson.loads(result.output)
    assert ["$.steps[0].next", "unknown_step"] in [e[:2] for e in report["errors"]]


def test_schema_exports_json_schema_for_both_kinds() -> None:
    for kind in ("workflow", "rule"):
        result = runner.invoke(app, ["schema", kind])
        assert result.exit_code == 0
        assert orjson.loads(result.output)["$schema"].startswith("https://json-schema.org/")
    assert runner.invoke(app, ["schema", "banana"]).exit_code == 2


def test_api_refuses_alert_conditions_naming_the_field(tmp_path: Path) -> None:
    env = {"HEADWATER_KAFKA_BOOTSTRAP": "127.0.0.1:1", "HEADWATER_DATA_DIR": str(tmp_path),
           "HEADWATER_ALERT_CHANNELS": '{"ops": {"kind": "slack", "url": "http://x"}}',
           "HEADWATER_ALERT_CONDITIONS": '[{"kind": "dead_letters", "channels": ["ops"]}, '
                                         '{"kind": "workflow_failure_rate", "max_rate": 2, '
                                         '"channels": ["pager"]}]'}
    result = runner.invoke(app, ["api"], env=env)
    assert result.exit_code == 2
    assert "HEADWATER_ALERT_CONDITIONS[1].max_rate" in result.output
    env["HEADWATER_ALERT_CONDITIONS"] = '[{"kind": "dead_letters", "channels": ["pager"]}]'
    result = runner.invoke(app, ["api"], env=env)
    assert result.exit_code == 2
    assert "HEADWATER_ALERT_CONDITIONS[0].channels[0]" in result.output
    assert "'pager' is not a channel" in result.output
