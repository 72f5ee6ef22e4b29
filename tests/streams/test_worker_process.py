"""`headwater worker` as users run it: a separate process that runs workflows and stops on
SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from schemas.validation import load_definition
from tests.streams.kit import NOW, Client, finished, history, prefix_of, read_until
from tests.support import free_ports

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).parents[2]


async def test_the_worker_process_runs_hello_and_stops_on_sigterm(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "HEADWATER_TOPIC_PREFIX": prefix_of(hw_topics),
           "HEADWATER_APP_ID": f"{prefix_of(hw_topics)}worker",
           "HEADWATER_DATA_DIR": str(tmp_path), "HEADWATER_WORKER_WEB_PORT": str(free_ports(1)),
           "HEADWATER_LOG_LEVEL": "warning"}
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "headwater", "worker"], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        async with Client(kafka_bootstrap, hw_topics) as client:
            hello = load_definition(ROOT / "examples" / "workflows" / "hello.yaml")
            assert isinstance(hello, WorkflowDefinition)
            await client.publish(hello)
            await client.send("commands", "ex-p", StartExecution(
                command_id="s", execution_id="ex-p", time=NOW, workflow_id="hello",
                input={"name": "Cy"}))
            events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                      finished({"ex-p"}), timeout_s=60)
        assert history(events, "ex-p")[-1].type == "execution_completed"
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            code = worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
        log.close()
    assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]
