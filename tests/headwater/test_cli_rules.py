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
    rule, event = EXAMPLES / f"{name}.yaml", EXAMPLES.parent / "events" / f"{name}.json"
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
    event = str(EXAMPLES.parent / "events" / "big-order.json")
    async with served(api) as url:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        found = await asyncio.to_thread(
            runner.invoke, app, ["rules", "test", "big-order-review", event, "--json"])
        missing = await asyncio.to_thread(runner.invoke, app, ["rules", "test", "nope", event])
    assert found.exit_code == 0, found.output
    assert orjson.loads(found.output)["matched"] is True
    assert missing.exit_code == 1 and "404" in missing.output


async def test_insights_list_every_finding_and_write_the_drafts(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.projections.test_insights_api import NOW, _events

    api = make_api("127.0.0.1:1", {"definitions": "hw.definitions"}, _events(), now=NOW)
    async with served(api) as url:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        listed = await asyncio.to_thread(runner.invoke, app, [
            "rules", "insights", "--json", "--drafts", str(tmp_path)])
        human = await asyncio.to_thread(runner.invoke, app, ["rules", "insights", "flaky"])
        bad = await asyncio.to_thread(runner.invoke, app, ["rules", "insights", "--kind", "x"])
    assert listed.exit_code == 0, listed.output
    assert [f["kind"] for f in orjson.loads(listed.output)] == [
        "shadowed", "never_matched", "failing_actions", "residual"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fr-huge@1.1.0.shadowed.json", "slow@1.1.0.residual.json"]
    validated = runner.invoke(app, ["validate", *map(str, tmp_path.iterdir())])
    assert validated.exit_code == 0, validated.output
    assert human.exit_code == 0 and "failing_actions" in human.output and "HTTP 500" in human.output
    assert bad.exit_code == 1 and "422" in bad.output


def test_import_writes_rules_that_validate_and_reports_the_rest(tmp_path: Path) -> None:
    from tests.rules.test_durable_import import RULESET

    source = tmp_path / "orders.json"
    source.write_bytes(orjson.dumps(RULESET))
    out_dir = tmp_path / "out"
    result = runner.invoke(app, ["rules", "import", str(source), "--out", str(out_dir)])
    assert result.exit_code == 1  # some rules cannot be carried
    assert "not imported orders/state" in result.output and "cannot carry: `$s`" in result.output
    assert "meaning changes:" in result.output
    written = sorted(p.name for p in out_dir.iterdir())
    assert written == ["orders-approve.yaml", "orders-either.yaml", "orders-flagged.yaml",
                       "orders-flat.yaml", "orders-own-field.yaml", "orders-tagged.yaml",
                       "orders-texty.yaml"]
    validated = runner.invoke(app, ["validate", *map(str, out_dir.iterdir())])
    assert validated.exit_code == 0, validated.output
    as_json = runner.invoke(app, ["rules", "import", str(source), "--out", str(out_dir),
                                  "--json"])
    report = {row["rule"]: row for row in orjson.loads(as_json.output)}
    assert report["pair"]["written"] is None and report["pair"]["problems"]
    assert report["approve"]["written"].endswith("orders-approve.yaml")


def test_the_durable_rules_example_imports_three_rules_and_explains_two(tmp_path: Path) -> None:
    source = Path(__file__).parents[2] / "examples" / "durable_rules" / "expense.json"
    result = runner.invoke(app, ["rules", "import", str(source), "--out", str(tmp_path),
                                 "--json"])
    report = {row["rule"]: row for row in orjson.loads(result.output)}
    assert result.exit_code == 1
    assert [r for r, row in report.items() if row["written"]] == ["approve", "deny", "escalate"]
    assert report["request-then-grant"]["problems"] == [
        "`all` over 2 events is a join; headwater rules read one event (a sequence pattern "
        "may fit)"]
    assert report["over-budget"]["problems"] == [
        "`$s` reads the ruleset's state, which headwater rules do not keep"]
