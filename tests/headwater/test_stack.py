"""`headwater up`'s supervision without a broker: what it says when it has no examples, and a
demo stub that cannot start (its port taken) leaves the stack serving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_up_says_when_it_has_no_examples(tmp_path: Path) -> None:
    from headwater.settings import Settings
    from headwater.stack import Stack

    said: list[str] = []
    Stack(Settings(examples_dir=tmp_path / "none"), say=said.append)._deploy_examples("unused:1")
    assert said == [f"no examples deployed: no examples folder at {tmp_path / 'none'} "
                    "(`headwater up --examples PATH` or HEADWATER_EXAMPLES_DIR names one)"]


def test_a_stub_that_cannot_start_does_not_stop_the_stack() -> None:
    from headwater.settings import Settings
    from headwater.stack import Stack

    said: list[str] = []
    stack = Stack(Settings(demo_stub_port=8079), say=said.append)
    stack.children["stub"] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    stack.children["stub"].wait()
    stack.children["api"] = subprocess.Popen([sys.executable, "-c", "raise SystemExit(1)"])
    stack.children["api"].wait()
    assert stack._supervise() == 1
    assert "the demo stub exited with status 3" in said[0] and "api exited" in said[1]
