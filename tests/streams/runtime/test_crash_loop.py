"""A record that kills the process running the loop (``os._exit``, as a segfault or the OOM
killer would: no exception to catch) is set aside as a dead letter ``crashed_worker`` after it
killed the process twice in the handler, and the records behind it are processed, on a real
broker with real process deaths (the loop runs in `crash_child`, restarted here as a
supervisor would)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.codec import Codec
from schemas.dead_letters import DeadLetter
from tests.streams.kit import prefix_of
from tests.streams.runtime.test_loop import produce
from tests.support import records_to_end

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).resolve().parents[3]


def _child(bootstrap: str, topics: dict[str, str], data_dir: Path) -> subprocess.Popen[bytes]:
    args = json.dumps({"bootstrap": bootstrap, "topics": topics, "data_dir": str(data_dir)})
    env = {**os.environ, "HEADWATER_FAULT_CRASH_ON": "echo:POISON"}
    return subprocess.Popen([sys.executable, "-m", "tests.streams.runtime.crash_child", args],
                            cwd=ROOT, env=env)


def _processed(data_dir: Path) -> list[int]:
    path = data_dir / "processed"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _run_until(child: subprocess.Popen[bytes], done: Callable[[], bool],
               timeout_s: float) -> int | None:
    """The child's exit status, or None once `done()` holds while it runs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return child.returncode
        if done():
            return None
        time.sleep(0.1)
    child.kill()
    raise AssertionError("the child neither exited nor got through in time")


def _letters(bootstrap: str, topics: dict[str, str]) -> list[DeadLetter]:
    codec = Codec(prefix=prefix_of(topics))
    return [codec.decode_value(r.topic, r.value)
            for r in asyncio.run(records_to_end(bootstrap, topics["dead-letters"]))]


def test_a_record_that_kills_the_process_is_set_aside_and_the_partition_goes_on(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    # Given a poison record between valid ones, on one partition
    asyncio.run(produce(kafka_bootstrap, hw_topics["tasks"], [b"a", b"POISON", b"b", b"c"]))

    # When the loop's process is restarted each time it dies
    exits: list[int] = []
    child = _child(kafka_bootstrap, hw_topics, tmp_path)
    try:
        while (code := _run_until(child, lambda: {2, 3} <= set(_processed(tmp_path)), 120)) \
                is not None:
            exits.append(code)
            assert len(exits) <= 4, f"still dying after {exits}"
            child = _child(kafka_bootstrap, hw_topics, tmp_path)
        # Then it died three times: once somewhere in the cycle, then twice with the poison
        # record in its handler, and the fourth start went past it
        assert exits == [70, 70, 70]
        letters = [letter for letter in _letters(kafka_bootstrap, hw_topics)
                   if letter.reason == "crashed_worker"]
        assert len(letters) == 1
        letter = letters[0]
        assert (letter.topic, letter.partition, letter.offset) == (hw_topics["tasks"], 0, 1)
        assert letter.value == b"POISON" and letter.consumer == "echo"
        assert "died 2 times in a row while echo was processing this record" in letter.message
        child.send_signal(signal.SIGTERM)  # a clean stop commits what was stored
        assert child.wait(30) == 0
        # and a further start finds nothing to do: the poison record is never handed over again
        child = _child(kafka_bootstrap, hw_topics, tmp_path)
        time.sleep(12)
        assert child.poll() is None
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            child.wait(30)
    processed = _processed(tmp_path)
    assert 1 not in processed
    assert processed.count(2) == 1 and processed.count(3) == 1
    produced = [r.value for r in asyncio.run(records_to_end(kafka_bootstrap, hw_topics["triggers"]))]
    assert produced == [b"echo:a", b"echo:b", b"echo:c"]
    assert len([letter for letter in _letters(kafka_bootstrap, hw_topics)
                if letter.reason == "crashed_worker"]) == 1
