"""`headwater up` without a broker: what it says when it has no examples, and a demo stub that
keeps dying (its port taken) is dropped while the stack serves on."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

from headwater.settings import Settings
from headwater.stack import RestartPolicy, Stack


def test_up_says_when_it_has_no_examples(tmp_path: Path) -> None:
    said: list[str] = []
    Stack(Settings(examples_dir=tmp_path / "none"), say=said.append)._deploy_examples("unused:1")
    assert said == [f"no examples deployed: no examples folder at {tmp_path / 'none'} "
                    "(`headwater up --examples PATH` or HEADWATER_EXAMPLES_DIR names one)"]


def test_a_stub_that_keeps_dying_is_dropped_and_the_stack_serves_on() -> None:
    said: list[str] = []
    stack = Stack(Settings(demo_stub_port=8079), say=said.append,
                  policy=partial(RestartPolicy, first_delay_s=0.01, max_failures=2))
    stack.start({"stub": [sys.executable, "-c", "raise SystemExit(3)"],
                 "api": [sys.executable, "-c", "import time; time.sleep(30)"]}, {})
    ticks = iter(range(400))
    try:
        code = stack.keep_alive(lambda: next(ticks) >= 399 or "stub" not in stack.children,
                                tick_s=0.01)
        assert code == 0 and "stub" not in stack.children
        assert stack.children["api"].poll() is None  # still serving
        assert any("going on without it" in line for line in said), said
    finally:
        stack.shutdown()


def test_the_worker_is_pointed_at_the_stub_and_your_values_win() -> None:
    import json

    said: list[str] = []
    mine = Stack(Settings(demo_stub_port=9001, secrets='{"SHIPPING_URL": "https://ship.example"}'),
                 say=said.append)._pointed_at_stub({"HEADWATER_HTTP_ALLOW": '["10.0.0.0/8"]'})
    assert json.loads(mine["HEADWATER_SECRETS"]) == {
        "INVENTORY_URL": "http://127.0.0.1:9001/inventory", "SHIPPING_URL": "https://ship.example"}
    assert json.loads(mine["HEADWATER_HTTP_ALLOW"]) == ["10.0.0.0/8"]  # set by you: kept
    fresh = Stack(Settings(demo_stub_port=9001), say=said.append)._pointed_at_stub({})
    assert json.loads(fresh["HEADWATER_HTTP_ALLOW"]) == ["127.0.0.1"]
    broken = Stack(Settings(demo_stub_port=9001, secrets="not json"), say=said.append)
    assert broken._pointed_at_stub({"A": "1"}) == {"A": "1"}  # the worker says what is wrong
