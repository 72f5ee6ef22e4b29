"""The operations CLI against a served API: human and --json output, errors, actions."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import orjson
import pytest
from typer.testing import CliRunner

from headwater.cli import app
from schemas.commands import RetryExecution
from schemas.triggers import TriggerEvent
from tests.projections.apikit import make_api, read_records, served
from tests.projections.histories import T0, Execution, matched, published

pytestmark = pytest.mark.kafka


async def test_executions_and_rules_commands(kafka_bootstrap: str, hw_topics: dict[str, str],
                                             topic_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    events = [published("workflow", "wf"), published("rule", "r1"), matched("r1", "ev1", us=300),
              *Execution("ok-1").started().step_ok("a").completed().events,
              *Execution("bad-1", start=T0 + timedelta(seconds=5)).started().step_failed("b").failed("b").events]
    api = make_api(kafka_bootstrap, hw_topics, events)
    runner = CliRunner()

    async def cli(*args: str) -> tuple[int, str]:
        result = await asyncio.to_thread(runner.invoke, app, list(args))
        return result.exit_code, result.output

    async with served(api) as url:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        code, listed = await cli("executions", "ls", "--json")
        assert code == 0 and [x["execution_id"] for x in orjson.loads(listed)["items"]] == ["bad-1", "ok-1"]
        code, table = await cli("executions", "ls", "--status", "failed")
        assert code == 0 and "bad-1" in table and "ok-1" not in table
        code, shown = await cli("executions", "show", "bad-1")
        assert code == 0 and "boom" in shown and "execution_failed" in shown
        code, missing = await cli("executions", "show", "nope")
        assert code == 1 and "404" in missing
        code, tailed = await cli("executions", "tail", "ok-1", "--json")
        kinds = [orjson.loads(line)["event"] for line in tailed.splitlines()]
        assert code == 0 and kinds[0] == "execution_started" and kinds[-1] == "end"
        code, refused = await cli("executions", "retry", "ok-1")
        assert code == 1 and "409" in refused
        code, dry = await cli("executions", "retry", "--workflow", "wf", "--json")
        assert code == 0 and orjson.loads(dry)["matched"] == ["bad-1"] and orjson.loads(dry)["sent"] == 0
        code, _ = await cli("executions", "retry", "bad-1")
        assert code == 0
        code, rules = await cli("rules", "ls", "--json")
        assert code == 0 and orjson.loads(rules) == [{"rule_id": "r1", "latest": "1.0.0", "active": True,
                                                      "evaluations": 1, "matched": 1, "failed": 0}]
        code, stats = await cli("rules", "stats", "r1")
        assert code == 0 and "1 matched" in stats and "p50" in stats
        code, workflows = await cli("workflows", "ls", "--json")
        assert code == 0 and [(w["definition_id"], w["status"]) for w in orjson.loads(workflows)] == [
            ("wf", "active")]
        code, none_paused = await cli("workflows", "ls", "--status", "paused", "--json")
        assert code == 0 and orjson.loads(none_paused) == []
        code, bad_status = await cli("workflows", "ls", "--status", "sleeping")
        assert code == 1 and "422" in bad_status
    [retry] = await read_records(kafka_bootstrap, hw_topics["commands"], 1, topic_prefix)
    assert isinstance(retry, RetryExecution) and retry.execution_id == "bad-1"


async def test_produce_sends_demo_triggers(kafka_bootstrap: str, hw_topics: dict[str, str],
                                           topic_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADWATER_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("HEADWATER_TOPIC_PREFIX", topic_prefix)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["produce", "-n", "50", "-r", "0", "--json"])
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["sent"] == 50
    events = await read_records(kafka_bootstrap, hw_topics["triggers"], 50, topic_prefix)
    assert all(isinstance(e, TriggerEvent) and e.type == "order.placed" for e in events)
    assert len({e.id for e in events}) == 50


def test_bench_lists_runs_and_refuses_unknown_names() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["bench", "--json"])
    assert listed.exit_code == 0 and {"api", "e2e"} <= set(orjson.loads(listed.output)["benchmarks"])
    unknown = runner.invoke(app, ["bench", "nope"])
    assert unknown.exit_code == 2 and "NAME" in unknown.output and "api" in unknown.output
    # arguments after NAME go to the benchmark; --json wraps what it printed
    ran = runner.invoke(app, ["bench", "codec", "--json", "--", "--help"])
    report = orjson.loads(ran.output)
    assert ran.exit_code == 0 and report["exit_code"] == 0 and report["args"] == ["--help"]
    assert any("usage" in line for line in report["output"]) and report["figures"] is None


async def test_show_gathers_a_long_timeline_from_its_pages(
        kafka_bootstrap: str, hw_topics: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    run = Execution("long").started()
    for n in range(400):  # 1,201 events: more than one page of the API's timeline
        run.step_ok(f"s{n}")
    api = make_api(kafka_bootstrap, hw_topics, run.events)
    async with served(api) as url:
        monkeypatch.setenv("HEADWATER_API_URL", url)
        result = await asyncio.to_thread(CliRunner().invoke, app, ["executions", "show", "long", "--json"])
    assert result.exit_code == 0, result.output
    shown = orjson.loads(result.output)
    assert [e["seq"] for e in shown["timeline"]] == list(range(1, len(run.events) + 1))
    assert shown["timeline_next"] is None
