"""`headwater rules test`: a rule file tried locally, a published rule through the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from headwater.cli import app
from tests.projections.apikit import make_api, served
from tests.projections.test_rules_api import body_of, event_of, publish

EXAMPLES = Path(__file__).parents[2] / "examples" / "rules"
runner = CliRunner()


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_every_example_rule_with_its_sample_event(name: str) -> None:
    rule, event = EXAMPLES / f"{name}.yaml", EXAMPLES / "events" / f"{name}.json"
    as_json = runner.invoke(app, ["rules", "test", str(rule), str(event), "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = orjson.loads(as_json.output)
    assert body["matched"] is (name != "hourly-heartbeat")
    human = runner.invoke(app, ["rules", "test", str(rule), str(event)])
    assert human.exit_code == 0
    assert ("does not match" in human.output) is (name == "hourly-heartbeat")
    if body["conditions"] is not None:
        assert "conditions" in human.output and "✓" in human.output


def test_a_failing_leaf_shows_with_the_value_found() -> None:
    event = event_of("big-order")
    event["data"]["total"] = 12
    result = runner.invoke(app, ["rules", "test", str(EXAMPLES / "big-order.yaml"),
                                 orjson.dumps(event).decode()])
    assert result.exit_code == 0
    assert "does not match" in result.output
    assert "✗ data.total $gt 5000 (found 12)" in result.output


def test_bad_input_is_refused_with_the_reason(tmp_path: Path) -> None:
    rule = str(EXAMPLES / "big-order.yaml")
    assert runner.invoke(app, ["rules", "test", rule, "{not json"]).exit_code == 2
    no_source = runner.invoke(app, ["rules", "test", rule, '{"id": "1", "type": "t"}'])
    assert no_source.exit_code == 2 and "source" in no_source.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: rule\nid: x\nname: x\nactions: []\n")
    invalid = runner.invoke(app, ["rules", "test", str(broken), '{"id":"1","source":"s","type":"t"}'])
    assert invalid.exit_code == 1 and "$.actions" in invalid.output


async def test_a_published_rule_by_id_through_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    limited = {**body_of("vip-order"), "id": "limited", "max_executions": 1}
    api = make_api("127.0.0.1:1", {"definitions": "hw.definitions"},
                   [publish(body_of("big-order")), publish(limited)])
    event = str(EXAMPLES / "events" / "big-order.json")
    async with served(api) as url:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        found = await asyncio.to_thread(
            runner.invoke, app, ["rules", "test", "big-order-review", event, "--json"])
        missing = await asyncio.to_thread(runner.invoke, app, ["rules", "test", "nope", event])
    assert found.exit_code == 0, found.output
    assert orjson.loads(found.output)["matched"] is True
    assert missing.exit_code == 1 and "404" in missing.output
