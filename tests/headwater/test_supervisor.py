"""`headwater up` restarts a dead child with backoff and stops only when asked or after
repeated deaths, saying why (issue: one poison record stopped the whole stack, Kafka too)."""

from __future__ import annotations

import sys
import threading
import time
from functools import partial
from pathlib import Path

from headwater.settings import Settings
from headwater.stack import RestartPolicy, Stack


def test_the_delay_doubles_up_to_the_cap_and_repeated_deaths_give_up() -> None:
    policy = RestartPolicy(first_delay_s=0.5, max_delay_s=1.5, max_failures=5, window_s=60)
    assert [policy.failed(t) for t in (0, 1, 2, 3)] == [0.5, 1.0, 1.5, 1.5]
    assert policy.failed(4) is None  # the 5th death within 60 s


def test_deaths_outside_the_window_are_forgotten() -> None:
    policy = RestartPolicy(first_delay_s=1, max_failures=3, window_s=10)
    assert policy.failed(0) == 1 and policy.failed(5) == 2
    assert policy.failed(100) == 1  # both earlier deaths are over 10 s old
    assert policy.failed(101) == 2 and policy.failed(102) is None


def _crashes_first(times: int, counter: Path) -> list[str]:
    """A child that exits 70 on its first `times` starts, then keeps running."""
    code = (f"import pathlib, sys, time; p = pathlib.Path({str(counter)!r}); "
            "n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1)); "
            f"sys.exit(70) if n < {times} else time.sleep(60)")
    return [sys.executable, "-c", code]


def _stack(said: list[str], **policy: float) -> Stack:
    return Stack(Settings(), said.append, policy=partial(RestartPolicy, first_delay_s=0.05,
                                                         **policy))


def test_a_child_that_crashes_repeatedly_is_restarted_and_the_stack_stays_up(
        tmp_path: Path) -> None:
    said: list[str] = []
    stack = _stack(said)
    counter = tmp_path / "starts"
    stack.start({"worker": _crashes_first(3, counter),
                 "api": [sys.executable, "-c", "import time; time.sleep(60)"]}, {})
    api_pid = stack.children["api"].pid
    done = threading.Event()
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(
        stack.keep_alive(done.is_set, tick_s=0.02)))
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if counter.exists() and counter.read_text() == "4" and \
                    stack.children["worker"].poll() is None:
                break
            time.sleep(0.05)
        time.sleep(0.3)
        assert stack.children["worker"].poll() is None  # the 4th start stays up
        assert stack.children["api"].pid == api_pid and stack.children["api"].poll() is None
    finally:
        done.set()
        runner.join(10)
        stack.shutdown()
    assert result == [0]
    restarts = [line for line in said if line.startswith("worker exited with status 70")]
    assert len(restarts) == 3 and all("restarting it in" in line for line in restarts)


def test_a_child_that_always_dies_stops_the_stack_saying_why(tmp_path: Path) -> None:
    said: list[str] = []
    stack = _stack(said, max_failures=3, window_s=60)
    stack.start({"worker": _crashes_first(100, tmp_path / "starts")}, {})
    try:
        assert stack.keep_alive(lambda: False, tick_s=0.02) == 1
    finally:
        stack.shutdown()
    assert said[-1] == ("worker exited with status 70, 3 times within 60 s; "
                        "stopping headwater")
