"""The shipped Prometheus alerting rules (infra/prometheus): every metric and label they read
is one the API serves at /metrics, each alert says what and how bad, and, where promtool is
installed, `promtool check rules` accepts the file and its unit tests (each alert fires where
planted, not beside it, and stops) pass."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from projections import create_api
from projections.auth import TokenTable
from projections.store import MemoryStore
from projections.views import fold
from projections.views.dead_letters import DeadLetterSummary
from projections.views.rule_stats import RuleStats
from projections.webhooks import WebhookVerifier
from tests.projections.apikit import client_of
from tests.projections.histories import Execution

RULES = Path(__file__).parents[2] / "infra" / "prometheus" / "headwater-alerts.yml"
UNIT_TESTS = RULES.with_name("headwater-alerts.test.yml")
ADDED_BY_PROMETHEUS = {"instance", "job"}


def alerts() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_each_alert_says_what_and_how_bad() -> None:
    found = alerts()
    assert {a["alert"] for a in found} >= {
        "HeadwaterWorkflowFailureRate", "HeadwaterRuleActionsFailing",
        "HeadwaterDeadLettersGrowing", "HeadwaterViewsLagging"}
    for alert in found:
        assert alert["labels"]["severity"] in ("warning", "critical"), alert["alert"]
        assert alert["annotations"]["summary"] and alert["annotations"]["description"]


async def test_every_metric_and_label_the_rules_read_is_served() -> None:
    store = MemoryStore()
    store.write(fold(store, [
        e for r in (Execution("e1", workflow_id="billing").started().completed(),
                    Execution("e2", workflow_id="billing").started().failed())
        for e in r.events]))
    api = create_api("127.0.0.1:1", _topics(), store=store, project=False, tokens=TokenTable(),
                     webhooks=WebhookVerifier({}))
    store.write({"rs/on-order": RuleStats(rule_id="on-order", actions_succeeded=3,
                                          actions_failed=1).model_dump_json().encode(),
                 "dlsum": DeadLetterSummary(total=2, by_topic={"hw.triggers": 2},
                                            by_reason={"x": 2}).model_dump_json().encode()})
    async with client_of(api) as client:
        await client.get("/health/none")  # one request counted
        text = (await client.get("/metrics")).text
    assert 'headwater_workflow_executions{status="failed",workflow="billing"} 1.0' in text
    assert 'headwater_rule_actions_total{result="failed",rule="on-order"} 1.0' in text
    assert 'headwater_dead_letters_total{topic="hw.triggers"} 2.0' in text
    families = dict(re.findall(r"^# TYPE (\S+) (\S+)", text, re.M))
    labels: dict[str, set[str]] = {}
    for name, body in re.findall(r"^(\w+)\{([^}]*)\}", text, re.M):
        labels.setdefault(name, set()).update(re.findall(r"(\w+)=", body))
    for alert in alerts():
        expr = alert["expr"]
        for metric in set(re.findall(r"\bheadwater_\w+", expr)):
            assert metric in families, f"{alert['alert']}: {metric} is not served"
            used = set(re.findall(metric + r"\{([^}]*)\}", expr))
            for selector in used:
                for label in re.findall(r"(\w+)\s*=~?", selector):
                    assert label in labels.get(metric, set()), f"{metric} has no label {label}"
        for label in re.findall(r"by \(([^)]*)\)", expr):
            for name in (n.strip() for n in label.split(",")):
                assert name in ADDED_BY_PROMETHEUS or any(
                    name in labels.get(m, set()) for m in re.findall(r"\bheadwater_\w+", expr)
                ), f"{alert['alert']}: no metric it reads has the label {name}"


def _topics() -> dict[str, str]:
    return {r: f"hw.{r}" for r in ("triggers", "definitions", "commands", "executions",
                                   "tasks", "rule-outcomes", "dead-letters", "alerts")}


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool not installed (Debian: apt-get install prometheus)")
def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    for command in (["check", "rules", RULES.name], ["test", "rules", UNIT_TESTS.name]):
        result = subprocess.run(["promtool", *command], cwd=RULES.parent, capture_output=True,
                                text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
