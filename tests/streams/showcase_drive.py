"""Starting every example and driving what it waits for, for tests/streams/test_examples.py.

How each workflow is started: see that module's docstring. Drivers run as background tasks
while the tests read, so every example advances at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from projections.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from schemas.commands import EventReceived
from schemas.triggers import TriggerEvent
from tests.streams.showcase import WEBHOOK_SECRET, Showcase, next_fire_times

__all__ = ["dump", "start_all", "started"]


API_STARTS = {  # workflow id -> input
    "hello": {"name": "Ada"},
    "archive-mailbox": {"user": "ann"},
    "batch-import": {"records": [{"email": "a@x.io"}, {"email": "b@x.io"}]},
    "poll-until-ready": {"spec": {"image": "report:1"}, "poll_every": "300ms"},
    "user-offboarding": {"user": "bob", "manager": "ann"},
    "shout": {"text": "hello"},
}


def _event(event_id: str, kind: str, source: str, data: dict[str, Any],
           subject: str | None = None) -> TriggerEvent:
    return TriggerEvent(id=event_id, source=source, type=kind, subject=subject or event_id,
                        time=datetime.now(UTC), data=data)


def _triggers() -> list[TriggerEvent]:
    order = {"items": [{"sku": "A1", "qty": 2}], "currency": "EUR",
             "customer": {"tier": "standard"}}
    return [
        _event("o-1", "order.placed", "shop/web", {**order, "order_id": "o-1", "total": 7500}),
        _event("a-1", "account.created", "app/web", {"account": "acc-1", "email": "c@x.io"},
               subject="acc-1"),
        _event("o-2", "order.placed", "shop/web", {**order, "order_id": "o-2", "total": 25,
                                                   "account": "acc-1"}, subject="acc-1"),
        _event("l-1", "crm.lead.created", "crm", {"id": "lead-1", "domain": "acme.io",
                                                 "email": "jo@acme.io"}),
        _event("i-1", "incident.opened", "monitor", {"id": "inc-1", "severity": "critical"}),
        _event("t-1", "support.ticket_created", "desk", {"plan": "enterprise"}),
        *[_event(f"inv-{n}", "invoice.issued", "billing",
                 {"invoice_id": f"inv-{n}", "customer_email": "d@x.io"}) for n in (1, 2)],
        _event("tr-1", "account.trial_started", "app/web",
               {"account": "acc-7", "email": "e@x.io", "follow_up_after": "300ms"}),
        *[_event(f"f-{n}", "auth.login_failed", "idp", {"user": "mallory"}, subject="mallory")
          for n in range(5)],
        *[_event(f"m-{n}", "metrics.cpu", "agent", {"value": 0.5 + n}, subject="host-1")
          for n in range(2)],
        _event("c-1", "cart.updated", "shop/web", {"items": 2}, subject="cart-9"),
    ]


def started(world: Showcase, workflow_id: str, match: Callable[[Any], bool]) -> list[Any]:
    """The `execution_started` events of `workflow_id` that `match`, so far."""
    return [e for e in world.executions.records if e.type == "execution_started"
            and e.workflow_id == workflow_id and match(e)]


async def _one_start(world: Showcase, workflow_id: str, match: Callable[[Any], bool]) -> str:
    await world.executions.wait(lambda _: bool(started(world, workflow_id, match)), 60,
                                f"{workflow_id} started")
    return str(started(world, workflow_id, match)[0].execution_id)


async def _api_post(world: Showcase, path: str, **request: Any) -> dict[str, Any]:
    """POST until the API's views know what `path` names (they follow the log)."""
    deadline = time.monotonic() + 60
    while True:
        answer = await world.api.post(path, **request)
        if answer.status_code not in (404, 409) or time.monotonic() > deadline:
            assert answer.status_code == 202, answer.text
            return dict(answer.json())
        await asyncio.sleep(0.2)


async def _api_signal(world: Showcase, execution_id: str, name: str, payload: Any) -> None:
    await _api_post(world, f"/executions/{execution_id}/signals/{name}", json={"payload": payload})


async def _waiting(world: Showcase, execution_id: str, step_id: str) -> None:
    await world.executions.wait(lambda rs: any(
        e.type == "step_started" and e.execution_id == execution_id and e.step_id == step_id
        for e in rs), 60, f"{execution_id} waits in {step_id}")


async def _drive_signals(world: Showcase) -> None:
    offboarding = await _one_start(world, "user-offboarding", lambda e: True)
    await _api_signal(world, offboarding, "wipe_confirmed", {"ok": True})
    approval = await _one_start(world, "expense-approval", lambda e: True)
    await _api_signal(world, approval, "decision", {"approved": True})
    incident = await _one_start(world, "incident-escalation", lambda e: e.input["id"] == "inc-1")
    await world.client.send("triggers", "inc-1", _event(
        "ack-1", "incident.acknowledged", "pagerduty",
        {"execution_id": incident, "tags": ["prod-api"], "user": "sam"}, subject="inc-1"))


async def _drive_payments(world: Showcase) -> None:
    paid = await _one_start(world, "invoice-reminder", lambda e: e.input["invoice_id"] == "inv-1")
    await _waiting(world, paid, "wait_payment")
    payment = {"id": "p-1", "source": "bank", "type": "payment.received", "subject": "inv-1",
               "data": {"amount": 40}}
    await world.client.send("commands", paid, EventReceived(
        command_id="pay-inv-1", execution_id=paid, time=datetime.now(UTC), event=payment))
    routed = await _one_start(world, "invoice-reminder", lambda e: e.input["invoice_id"] == "inv-2")
    await _waiting(world, routed, "wait_payment")
    await world.client.send("triggers", "inv-2", _event("p-2", "payment.received", "bank",
                                                        {"amount": 40}, subject="inv-2"))


async def _drive_clock(world: Showcase) -> None:
    """Move the engine's clock to each schedule's next fire time, then past the absence
    and batch windows of the rules."""
    triggers = world.engine.loops["triggers"]
    await world.outcomes.wait(lambda rs: {"failed-login-burst", "vip-order"} <= {
        o.rule_id for o in rs}, 60, "the triggers were evaluated")
    start = world.clock()
    for at in [*next_fire_times(world.definitions, start), start + timedelta(hours=2)]:
        world.clock.move_to(at + timedelta(seconds=1))
        deadline = time.monotonic() + 30
        while not (triggers.ticked and triggers.ticked >= at):  # a whole cycle at `at`
            assert time.monotonic() < deadline, f"the trigger agent never ticked at {at}"
            await asyncio.sleep(0.02)


async def start_all(world: Showcase) -> list[asyncio.Task[None]]:
    """Start every example and return the tasks that drive what they wait for."""
    for workflow_id, data in API_STARTS.items():
        await _api_post(world, f"/workflows/{workflow_id}/executions", json={"input": data})
    # A webhook request is accepted once (replay guard): send it when the API knows the target.
    deadline = time.monotonic() + 60
    while (await world.api.get("/definitions/workflow/github-release-relay")).status_code != 200:
        assert time.monotonic() < deadline, "the API never saw github-release-relay"
        await asyncio.sleep(0.2)
    body = orjson.dumps({"release": {"tag_name": "v1.2.0"},
                         "repository": {"full_name": "acme/rocket"}})
    stamp = int(time.time())
    # At the path its webhook trigger declares; the trigger's `input` maps the request.
    answer = await world.api.post("/webhooks/github/releases", content=body, headers={
        TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: sign(WEBHOOK_SECRET, stamp, body)})
    assert answer.status_code == 202, answer.text
    for event in _triggers():
        await world.client.send("triggers", event.subject or event.id, event)
    return [asyncio.create_task(drive(world))
            for drive in (_drive_signals, _drive_payments, _drive_clock)]


def dump(world: Showcase, to: Path) -> None:
    """What happened, for whoever reads a failure."""
    with to.open("w") as out:
        for tail in (world.executions, world.outcomes, world.triggers, world.dead_letters):
            out.writelines(f"{tail.topic} {r!r}\n" for r in tail.records)
        out.writelines(f"http {r!r}\n" for r in world.outside.requests)
