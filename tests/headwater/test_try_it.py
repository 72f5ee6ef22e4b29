"""The README's "Try it", run as written: the stack started the way `make run` starts it
(`headwater up`, on the test broker and free ports), the README's bash block run in order with
only the addresses and the demo's size changed, and every execution those steps start
completes: the first run looks healthy."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.headwater.test_up import _wait_healthy
from tests.support import free_ports

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
ROOT = Path(__file__).parents[2]
ORDERS = 40
"""Demo orders the test produces (the README sends 1000)."""


def try_it_block() -> str:
    """The bash block of the README's "Try it" section."""
    section = (ROOT / "README.md").read_text().split("## Try it", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the README's Try it has no bash block"
    return match.group(1)


def _script(bootstrap: str, api_port: int) -> str:
    script = try_it_block()
    for old, new in (("127.0.0.1:9092", bootstrap), ("localhost:8080", f"127.0.0.1:{api_port}"),
                     ("-n 1000 -r 200", f"-n {ORDERS} -r 0")):
        assert old in script, f"the README's Try it no longer has {old!r}"
        script = script.replace(old, new)
    return script


def _executions(api: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = httpx.get(f"{api}/executions", params={"limit": 500, **(
            {"cursor": cursor} if cursor else {})}, timeout=10).json()
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items


def test_the_readme_try_it_steps_complete_every_execution(
        kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> None:
    api_port = free_ports(3)
    web_port, stub_port = api_port + 1, api_port + 2
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env |= {"HEADWATER_KAFKA_BOOTSTRAP": kafka_bootstrap, "HEADWATER_TOPIC_PREFIX": topic_prefix,
            "HEADWATER_DATA_DIR": str(tmp_path / "data"), "HEADWATER_API_PORT": str(api_port),
            "HEADWATER_WORKER_WEB_PORT": str(web_port), "HEADWATER_DEMO_STUB_PORT": str(stub_port),
            "HEADWATER_APP_ID": f"try-{topic_prefix.strip('.')}"}
    work = tmp_path / "work"  # the reader's checkout: examples/ and .venv/ beside their files
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    (work / ".venv").symlink_to(Path(sys.executable).parents[1])
    up = subprocess.Popen([sys.executable, "-m", "headwater", "up"], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{api_port}"
    try:
        _wait_healthy(f"{api}/health", up)
        steps = subprocess.run(["bash", "-euo", "pipefail", "-c", _script(kafka_bootstrap, api_port)],
                               cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert steps.returncode == 0, f"{steps.stdout}\n{steps.stderr}"
        assert (work / "workflow.schema.json").stat().st_size > 1000
        executions = _settled(api, at_least=2 + ORDERS)
    finally:
        up.send_signal(signal.SIGINT)
        try:
            output, _ = up.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            output, _ = up.communicate()
    assert "demo stub" in output
    by_status: dict[str, list[str]] = {}
    for x in executions:
        by_status.setdefault(x["status"], []).append(f"{x['workflow_id']}:{x['execution_id']}")
    assert set(by_status) == {"completed"}, {k: v[:5] for k, v in by_status.items()}
    workflows = {x["workflow_id"] for x in executions}
    assert {"hello", "my-workflow", "order-fulfilment"} <= workflows
    assert sum(x["workflow_id"] == "order-fulfilment" for x in executions) >= ORDERS


def _settled(api: str, at_least: int, timeout_s: float = 180) -> list[dict[str, Any]]:
    """Every execution the steps started (schedules left out: the clock may fire one), once
    none is still running, waiting or queued."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = [x for x in _executions(api) if x["trigger_type"] != "schedule"]
        busy = [x for x in found if x["status"] in ("running", "waiting", "queued")]
        if len(found) >= at_least and not busy:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} executions, {len(busy)} unfinished: {busy[:3]}")
        time.sleep(1.0)
