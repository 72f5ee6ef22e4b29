"""`headwater up` brings the stack up, answers /health, and Ctrl-C stops all of it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from schemas.codec import Codec
from tests.streams.kit import finished, read_until
from tests.support import free_ports

pytestmark = pytest.mark.kafka


def _wait_healthy(url: str, proc: subprocess.Popen[str], timeout_s: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"headwater up exited early with {proc.returncode}"
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered 200")


def _pids_of(pattern: str) -> set[int]:
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _run_hello_to_completion(env: dict[str, str], bootstrap: str, prefix: str, api: str) -> None:
    """The newcomer's path: examples deployed, `headwater run hello` completes, the API shows it."""
    run = subprocess.run([sys.executable, "-m", "headwater", "run", "hello", "--json",
                          "--input", '{"name": "Ada"}'], env=env, capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    execution_id = orjson.loads(run.stdout)["execution_id"]
    events = asyncio.run(read_until(bootstrap, f"{prefix}executions", Codec(prefix=prefix),
                                    finished({execution_id}), timeout_s=60))
    mine = [e for e in events if e.execution_id == execution_id]
    assert [e.seq for e in mine] == list(range(mine[0].seq, mine[0].seq + len(mine)))
    assert mine[-1].type == "execution_completed"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = httpx.get(f"{api}/executions/{execution_id}", timeout=5)
        if view.status_code == 200 and view.json()["summary"]["status"] == "completed":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the API never showed {execution_id} completed: {view.text}")


@pytest.mark.parametrize("broker", ["configured", "local"])
def test_up_serves_health_and_ctrl_c_stops_everything(
    broker: str, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    base = free_ports(4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env |= {"HEADWATER_TOPIC_PREFIX": topic_prefix, "HEADWATER_DATA_DIR": str(tmp_path),
            "HEADWATER_API_PORT": str(base), "HEADWATER_WORKER_WEB_PORT": str(base + 1),
            "HEADWATER_APP_ID": f"app-{topic_prefix.strip('.')}"}
    if broker == "configured":
        env["HEADWATER_KAFKA_BOOTSTRAP"] = kafka_bootstrap
    else:
        env["HEADWATER_KAFKA_PORT"] = str(base + 2)
    proc = subprocess.Popen([sys.executable, "-m", "headwater", "up"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        body = _wait_healthy(f"http://127.0.0.1:{base}/health", proc)
        assert body["status"] == "ok"
        assert f"{topic_prefix}executions" in body["topics"]  # type: ignore[operator]
        if broker == "configured":
            _run_hello_to_completion(env, kafka_bootstrap, topic_prefix, f"http://127.0.0.1:{base}")

        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:  # the test failed midway: leave nothing running behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if broker == "local":
                subprocess.run([sys.executable, "-m", "headwater", "kafka", "down"], env=env,
                               capture_output=True, timeout=120)
    assert proc.returncode == 0, output
    assert "stopping headwater" in output
    # nothing of this stack is left running: worker, API and (if it started one) the broker
    assert _pids_of(f"{tmp_path}") == set()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{base}/health", timeout=2)
