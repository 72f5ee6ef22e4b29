"""Issue 6 "Show": every example workflow of `examples/workflows` runs to completion from a
published trigger on the real broker, and every rule of `examples/rules` fires on an event
that matches it (tests/streams/showcase.py runs them all at once: one broker, one engine).

How each workflow is started (`Scenario.via`):
- `rule <id>`: a CloudEvent on `hw.triggers` that the example rule `<id>` matches;
- `event`: a CloudEvent on `hw.triggers` that matches the workflow's own event trigger;
- `api`: `POST /workflows/<id>/executions` of the API (what the CLI's `run` and the UI send);
- `webhook`: `POST /webhooks/workflow/<id>` of the API, HMAC-signed;
- `schedule`: its own schedule, by moving the trigger agent's clock to its next fire time.
What a workflow then waits for is driven the way production drives it: signals through the
API or through the example rule that sends them, a correlated event both ways a payment can
arrive (inv-1 as an `event_received` command sent to the execution, inv-2 as a CloudEvent on
`hw.triggers` that the trigger agent routes to the execution waiting for its subject), timers
made short through the examples' own inputs (`poll_every`, `follow_up_after`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from schemas.validation import load_definition
from tests.streams.kit import finished, history
from tests.streams.showcase import EXAMPLES, Showcase, showcase
from tests.streams.showcase_drive import dump, start_all, started

pytestmark = pytest.mark.kafka

History = list[Any]


@dataclass(frozen=True)
class Scenario:
    """How an example is started, how it ends, and what else must hold of each run."""

    workflow_id: str
    via: str
    ends: str = "execution_completed"
    check: Callable[[Showcase, History], None] | None = None
    only: Callable[[dict[str, Any]], bool] = lambda data: True
    """Which of the runs started that way are this scenario's (by their input)."""


def _steps(events: History, kind: str = "step_completed") -> list[str]:
    return [e.step_id for e in events if e.type == kind and not e.scope]


def _approval(_: Showcase, h: History) -> None:
    assert "approve" in _steps(h) and "reject" not in _steps(h)


def _archive(world: Showcase, h: History) -> None:
    assert h[-1].output == {"location": "s3://archive/ann.tgz"}
    assert world.outside.to("/archive.internal/put")[0].body == {
        "user": "ann", "location": "s3://archive/ann.tgz"}


def _batch(world: Showcase, h: History) -> None:
    assert h[-1].output == {"imported": 2}
    assert {r.path for r in world.outside.requests if r.method == "PUT"} >= {
        "/crm.internal/contacts/a@x.io", "/crm.internal/contacts/b@x.io"}


def _cleanup(world: Showcase, h: History) -> None:
    done = {t.task_type for t in world.stand_in.tasks if t.execution_id == h[0].execution_id}
    assert done == {"storage.purge", "db.vacuum", "secrets.rotate"}


def _etl(world: Showcase, h: History) -> None:
    assert _steps(h)[-1] == "refresh_dashboards"
    assert world.outside.to("/bi.internal/refresh")


def _lead(world: Showcase, _: History) -> None:
    saved = world.outside.to("/crm.internal/leads/lead-1", "PATCH")
    assert saved and saved[0].body["score"] == {"score": 87}
    assert world.outside.to("/company.example/lookup")[0].query == "domain=acme.io"


def _incident(_: Showcase, h: History) -> None:
    assert "resolved" in _steps(h) and "page_secondary" not in _steps(h)
    assert [e.output for e in h if e.type == "step_completed" and e.step_id == "wait_ack"] == [
        {"acknowledged_by": "sam"}]


def _invoice(world: Showcase, h: History) -> None:
    assert "collections" not in _steps(h)
    reminders = [t for t in world.stand_in.tasks if t.execution_id == h[0].execution_id]
    assert [t.params["attempt"] for t in reminders] == [1]


def _report(world: Showcase, _: History) -> None:
    mail = world.outside.to("/mail.internal/send")
    assert mail and mail[0].body["summary"] == {"total": 2, "regions": ["eu", "us"]}


def _order(_: Showcase, h: History) -> None:
    start = next(e for e in h if e.type == "execution_started")  # a gate may queue it first
    assert h[-1].output == {"tracking": f"TRK-{start.input['order_id']}"}


def _poll(world: Showcase, h: History) -> None:
    assert "report" in _steps(h)
    assert len(world.outside.to("/batch.internal/jobs/job-1", "GET")) >= 2


def _shout(world: Showcase, h: History) -> None:
    assert h[-1].output == {"text": "HELLO"}  # answered by examples/workers/echo_worker.py
    assert not [t for t in world.stand_in.tasks if t.execution_id == h[0].execution_id]


def _nurture(_: Showcase, h: History) -> None:
    assert "tips" in _steps(h) and "nudge" not in _steps(h)


def _offboarding(world: Showcase, h: History) -> None:
    child = [e for e in world.executions.records if e.type == "execution_started"
             and e.parent_execution_id == h[0].execution_id]
    assert [c.workflow_id for c in child] == ["archive-mailbox"]
    assert "notify_hr" in _steps(h)


def _relay(world: Showcase, _: History) -> None:
    assert world.outside.to("/chat.example/hooks/releases")[0].body == {
        "text": "acme/rocket v1.2.0 is out"}


SCENARIOS = {
    "approval": Scenario("expense-approval", "rule big-order-review", check=_approval),
    "archive-mailbox": Scenario("archive-mailbox", "api", check=_archive),
    "batch-import": Scenario("batch-import", "api", check=_batch),
    "cleanup-parallel-mode": Scenario("weekly-cleanup", "schedule", check=_cleanup),
    "data-pipeline-hybrid": Scenario("daily-etl", "schedule", check=_etl),
    "enrich-parallel": Scenario("lead-enrichment", "event", check=_lead),
    "hello": Scenario("hello", "api"),
    "incident-escalation": Scenario("incident-escalation", "event", check=_incident),
    "invoice-reminder": Scenario("invoice-reminder", "event", check=_invoice,
                                 only=lambda data: data["invoice_id"] == "inv-1"),
    "nightly-report": Scenario("nightly-report", "schedule", check=_report),
    "order-fulfilment": Scenario("order-fulfilment", "rule vip-order", check=_order),
    "poll-until-ready": Scenario("poll-until-ready", "api", check=_poll),
    "shout": Scenario("shout", "api", check=_shout),
    "trial-nurture": Scenario("trial-nurture", "event", check=_nurture),
    "user-offboarding": Scenario("user-offboarding", "api", check=_offboarding),
    "webhook-relay": Scenario("github-release-relay", "webhook", check=_relay),
}

@pytest.fixture(scope="module")
async def world(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory,
                ) -> AsyncIterator[Showcase]:
    """Every example deployed, started and driven; the tests read what happens."""
    async with showcase(kafka_bootstrap, tmp_path_factory.mktemp("examples")) as running:
        running.drivers = await start_all(running)
        yield running
        dump(running, tmp_path_factory.getbasetemp() / "examples-showcase.txt")
        for task in running.drivers:
            task.cancel()
        await asyncio.gather(*running.drivers, return_exceptions=True)


def _runs(world: Showcase, scenario: Scenario) -> list[Any]:
    kind, _, rule = scenario.via.partition(" ")
    trigger = "rule" if rule else kind
    return started(world, scenario.workflow_id, lambda e: e.trigger_type == trigger and (
        not rule or e.triggered_by == rule) and scenario.only(e.input))


def _deduplicated(events: History) -> History:
    """Readers drop repeats (same execution and seq), as docs/engine.md says."""
    seen: dict[int, Any] = {}
    for e in events:
        seen.setdefault(e.seq, e)
    return [seen[s] for s in sorted(seen)]


WORKFLOW_FILES = sorted(p.stem for p in (EXAMPLES / "workflows").glob("*.yaml"))


@pytest.mark.parametrize("example", WORKFLOW_FILES)
async def test_the_example_workflow_runs_to_completion_from_its_trigger(
    example: str, world: Showcase,
) -> None:
    scenario = SCENARIOS[example]  # a new example needs a scenario here
    await world.executions.wait(lambda _: bool(_runs(world, scenario)), 60,
                                f"{scenario.workflow_id} started via {scenario.via}")
    ids = {e.execution_id for e in _runs(world, scenario)}
    broken = [t for t in world.drivers if t.done() and not t.cancelled() and t.exception()]
    assert not broken, broken[0].exception()
    events = await world.executions.wait(finished(ids), 60, f"{example} ends")
    for execution_id in sorted(ids):
        run = _deduplicated(history(events, execution_id))
        assert [e.seq for e in run] == list(range(1, len(run) + 1))
        failures = [(e.step_id, e.error) for e in run if e.type == "step_failed"]
        assert run[-1].type == scenario.ends, (run[-1], failures)
        if scenario.check is not None:
            scenario.check(world, run)


RULE_EFFECTS: dict[str, Callable[[Showcase], bool]] = {
    "big-order-review": lambda w: bool(started(w, "expense-approval", lambda e: True)),
    "cart-abandoned": lambda w: any(t.type == "marketing.cart_nudge" and t.data == {
        "cart": "cart-9"} for t in w.triggers.records),
    "failed-login-burst": lambda w: [r.body["last_failure"] for r in w.outside.to(
        "/idp.internal/lock")] == ["f-4"] and any(
            t.type == "security.account_locked" and t.subject == "mallory"
            for t in w.triggers.records),
    "hourly-heartbeat": lambda w: any(t.type == "system.heartbeat" for t in w.triggers.records),
    "incident-ack-signal": lambda w: any(e.type == "step_completed" and e.step_id == "wait_ack"
                                         and e.output == {"acknowledged_by": "sam"}
                                         for e in w.executions.records),
    "metrics-batch": lambda w: sorted(  # once each, however the windows cut them
        p["value"] for r in w.outside.to("/tsdb.internal/write") for p in r.body["points"]
    ) == [0.5, 1.5],
    "priority-support": lambda w: bool(started(w, "incident-escalation",
                                                lambda e: e.triggered_by == "priority-support")),
    "signup-then-purchase": lambda w: bool(started(w, "trial-nurture",
                                                    lambda e: e.input.get("account") == "acc-1")),
    "vip-order": lambda w: len(started(w, "order-fulfilment",
                                        lambda e: e.triggered_by == "vip-order")) == 2,
}


@pytest.mark.parametrize("rule_file", sorted((EXAMPLES / "rules").glob("*.yaml")),
                         ids=lambda p: p.stem)
async def test_the_example_rule_fires_on_a_matching_event(rule_file: Path,
                                                         world: Showcase) -> None:
    rule_id = load_definition(rule_file).id
    outcomes = await world.outcomes.wait(lambda rs: any(
        o.type == "rule_matched" and o.rule_id == rule_id for o in rs), 60, f"{rule_id} fires")
    failed = [o for o in outcomes if o.type == "rule_failed" and o.rule_id == rule_id]
    assert not failed, failed
    effect = RULE_EFFECTS[rule_id]
    await world.executions.wait(lambda _: effect(world), 60, f"{rule_id}'s actions took effect")


async def test_a_correlated_event_published_on_hw_triggers_resumes_the_waiting_execution(
    world: Showcase,
) -> None:
    def inv_2(_: History) -> bool:  # this test may run first alone
        return bool(started(world, "invoice-reminder", lambda e: e.input["invoice_id"] == "inv-2"))
    await world.executions.wait(inv_2, 60, "inv-2's reminder started")
    routed = started(world, "invoice-reminder", lambda e: e.input["invoice_id"] == "inv-2")
    resumed = await world.executions.wait(lambda rs: any(
        e.type == "step_completed" and e.execution_id == routed[0].execution_id
        and e.step_id == "wait_payment" for e in rs), 60, "inv-2's payment resumed it")
    step = next(e for e in resumed if e.type == "step_completed" and e.step_id == "wait_payment"
                and e.execution_id == routed[0].execution_id)
    assert step.output == {"paid": True}  # the step's `output` mapping of the routed payment


async def test_nothing_the_examples_did_became_a_dead_letter(world: Showcase) -> None:
    await world.executions.wait(lambda _: bool(started(world, "nightly-report", lambda e: True)),
                                60, "the examples ran")  # this test may run first alone
    assert [(d.reason, d.message) for d in world.dead_letters.records] == []
