"""`headwater up` with a trigger that kills the worker process outright (injected with
``HEADWATER_FAULT_CRASH_ON``: ``os._exit(70)`` in the trigger agent, as a segfault or the OOM
killer would leave it, with no exception to catch): the supervisor restarts the worker, the
stack stays up all along, the record is set aside as a dead letter ``crashed_worker`` after
two deaths in the handler, the valid triggers behind it on the same partition are processed,
and the poison record is never handed to the agent again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import free_ports

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RULE = """kind: rule
id: drill-greet
name: Greet on drill events
trigger: {event_type: drill.greet}
conditions: {$ex: {data.name: 1}}
actions:
  - {type: start_workflow, workflow_id: drill-hello, input: "${ event.data }"}
"""
WORKFLOW = """kind: workflow
id: drill-hello
name: Hello
steps:
  - {id: greet, action: log, with: {message: "Hello, ${ input.name }!"}}
"""


def _eventually(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"{what} never happened (last: {last!r})")


def _worker_deaths(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines()
            if line.startswith("headwater worker exited with status")]


def test_up_keeps_the_stack_running_and_dead_letters_a_record_that_kills_the_worker(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path,
) -> None:
    poison = f"POISON-{uuid.uuid4().hex[:8]}"
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "rule.yaml").write_text(RULE)
    (examples / "workflow.yaml").write_text(WORKFLOW)
    api_port = free_ports(2)  # two free ports in a row
    web_port = api_port + 1
    api = f"http://127.0.0.1:{api_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env |= {"HEADWATER_KAFKA_BOOTSTRAP": kafka_bootstrap, "HEADWATER_TOPIC_PREFIX": topic_prefix,
            "HEADWATER_DATA_DIR": str(tmp_path / "data"), "HEADWATER_API_PORT": str(api_port),
            "HEADWATER_WORKER_WEB_PORT": str(web_port), "HEADWATER_DEMO_STUB_PORT": "0",
            "HEADWATER_APP_ID": f"app-{topic_prefix.strip('.')}",
            "HEADWATER_EXAMPLES_DIR": str(examples),
            "HEADWATER_FAULT_CRASH_ON": f"triggers:{poison}"}
    log = tmp_path / "up.log"
    with log.open("w") as out:
        up = subprocess.Popen([sys.executable, "-m", "headwater", "up"], env=env, stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _eventually(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, 120,
                    "the API answering")
        _eventually(lambda: httpx.get(f"{api}/rules/drill-greet", timeout=5).status_code == 200,
                    60, "the drill rule in the API")
        # Given a trigger that kills the worker, then valid ones on the same partition
        events = [{"specversion": "1.0", "id": f"drill-{i}", "source": "tests/drill",
                   "type": "drill.greet", "subject": "one-partition",
                   "data": {"name": name}}
                  for i, name in enumerate([poison, "v0", "v1", "v2", "v3", "v4"])]
        sent = httpx.post(f"{api}/triggers/batch", json=events, timeout=10)
        assert sent.status_code == 202, sent.text

        # When the worker dies on it, and `up` restarts it each time
        def crashed_worker() -> list[dict[str, Any]]:
            page = httpx.get(f"{api}/dead-letters", params={"reason": "crashed_worker"},
                             timeout=5).json()
            return list(page["items"])

        letters = _eventually(crashed_worker, 300, "a crashed_worker dead letter")

        # Then the record is a dead letter that says what happened, where and in which handler
        assert len(letters) == 1
        letter = letters[0]
        assert letter["topic"] == f"{topic_prefix}triggers" and letter["consumer"] == "triggers"
        assert "died 2 times in a row while triggers was processing" in letter["message"]
        assert poison in str(letter["decoded"])
        # and the worker was restarted (three deaths: one in the cycle, two in the handler)
        # while the stack stayed up
        deaths = _worker_deaths(log)
        assert len(deaths) == 3, log.read_text(errors="replace")[-3000:]
        assert all("status 70; restarting it in" in line for line in deaths)
        assert up.poll() is None
        assert httpx.get(f"{api}/health", timeout=5).json()["status"] == "ok"

        # and the valid triggers behind it were processed: five executions, none for the poison
        def greeted() -> list[dict[str, Any]]:
            page = httpx.get(f"{api}/executions", params={"workflow_id": "drill-hello",
                                                          "status": "completed"}, timeout=5)
            items = list(page.json()["items"])
            return items if len(items) >= 5 else []

        assert len(_eventually(greeted, 120, "five completed executions")) == 5

        # and, left running, the worker neither dies on it again nor hands it to the agent
        time.sleep(15)
        assert len(_worker_deaths(log)) == 3 and up.poll() is None
        assert len(crashed_worker()) == 1
        everything = httpx.get(f"{api}/executions", params={"workflow_id": "drill-hello"},
                               timeout=5).json()["items"]
        assert len(everything) == 5

        up.send_signal(signal.SIGINT)
        assert up.wait(90) == 0
    finally:
        if up.poll() is None:  # the test failed midway: leave nothing running behind
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
    assert "stopping headwater" in log.read_text(errors="replace")
