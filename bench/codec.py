"""Codec throughput: Avro (Confluent wire format) against plain orjson, in the same run.

For each main event type, encode and decode records/s and the record size:

* ``avro``: ``Codec.encode_value`` / ``Codec.decode_value`` (model <-> bytes, validated);
* ``orjson+pydantic``: ``orjson.dumps(model.model_dump(mode="json"))`` /
  ``Model.model_validate(orjson.loads(b))``, the same job done with JSON;
* ``orjson raw``: ``orjson.dumps(dict)`` / ``orjson.loads(b)`` on the plain dict, no models,
  the floor any model-based codec pays on top of.

Run: ``.venv/bin/python bench/codec.py [--seconds 0.5]``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel

from schemas.codec import Codec
from schemas.executions import ExecutionStarted, StepCompleted
from schemas.outcomes import ActionResult, RuleMatched
from schemas.tasks import TaskRequested
from schemas.triggers import TriggerEvent

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ORDER = {"order_id": "o-981", "customer": {"id": "c-7", "tier": "gold"}, "amount": 249.5,
         "items": [{"sku": f"sku-{i}", "qty": i, "price": 9.99} for i in range(5)]}


def samples() -> list[tuple[str, BaseModel]]:
    """(topic role, event) for the event types on the hot path."""
    return [
        ("triggers", TriggerEvent(id="evt-1", source="/shop/orders", type="order.created",
                                  subject="o-981", time=NOW, datacontenttype="application/json",
                                  data=ORDER, extensions={"traceparent": "00-abc-def-01"})),
        ("executions", ExecutionStarted(execution_id="ex-1", seq=1, time=NOW, command_id="c-1",
                                        workflow_id="order-flow", workflow_version="1.2.0",
                                        input=ORDER, variables={"approved": False})),
        ("executions", StepCompleted(execution_id="ex-1", seq=9, time=NOW, command_id="c-5",
                                     step_id="charge", output={"charge_id": "ch-1", "ok": True})),
        ("tasks", TaskRequested(execution_id="ex-1", seq=8, task_id="ex-1:t8", step_id="charge",
                                task_type="http", params={"url": "https://pay", "body": ORDER},
                                idempotency_key="ex-1:t8", requested_at=NOW)),
        ("rule-outcomes", RuleMatched(rule_id="big-orders", rule_version="1.0.0", event_id="evt-1",
                                      event_type="order.created", evaluated_at=NOW, evaluation_us=12,
                                      actions=(ActionResult(index=0, action_type="start_workflow",
                                                            status="succeeded",
                                                            result={"execution_id": "ex-1"}),))),
    ]


def rate(fn: Callable[[], Any], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    calls, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(200):
            fn()
        calls += 200
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def measure(role: str, event: BaseModel, seconds: float) -> list[tuple[str, float, float, int]]:
    """(codec, encode/s, decode/s, bytes) for one event."""
    codec, topic, model = Codec(), f"hw.{role}", type(event)
    avro = codec.encode_value(topic, event)
    assert codec.decode_value(topic, avro) == event
    as_json = event.model_dump(mode="json")
    text = orjson.dumps(as_json)
    assert model.model_validate(orjson.loads(text)) == event
    return [
        ("avro", rate(lambda: codec.encode_value(topic, event), seconds),
         rate(lambda: codec.decode_value(topic, avro), seconds), len(avro)),
        ("orjson+pydantic", rate(lambda: orjson.dumps(event.model_dump(mode="json")), seconds),
         rate(lambda: model.model_validate(orjson.loads(text)), seconds), len(text)),
        ("orjson raw", rate(lambda: orjson.dumps(as_json), seconds),
         rate(lambda: orjson.loads(text), seconds), len(text)),
    ]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    args = parser.parse_args()
    print(f"{'event':<18} {'codec':<16} {'encode/s':>10} {'decode/s':>10} {'bytes':>6} "
          f"{'enc vs json':>11} {'dec vs json':>11}")
    for role, event in samples():
        rows = measure(role, event, args.seconds)
        _, json_enc, json_dec, _ = rows[1]
        for name, enc, dec, size in rows:
            print(f"{type(event).__name__:<18} {name:<16} {enc:>10,.0f} {dec:>10,.0f} {size:>6} "
                  f"{enc / json_enc:>10.2f}x {dec / json_dec:>10.2f}x")


if __name__ == "__main__":
    main()
