"""A non-editable install has what a checkout has: `headwater up` from a wheel deploys the
bundled examples (and says from where), the benchmarks are listed, and an examples folder that
is not there is said, not silently skipped. Builds a wheel and installs it into a fresh venv
(the pip cache makes that about a minute)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

import orjson
import pytest

from tests.headwater.test_up import _wait_healthy
from tests.support import free_ports

pytestmark = [pytest.mark.kafka, pytest.mark.slow]
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with headwater installed from a freshly built wheel; its bin folder."""
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(where),
                    str(ROOT)], check=True, timeout=300)
    [wheel] = where.glob("headwater-*.whl")
    venv.create(where / "venv", with_pip=True)
    bin_dir = where / "venv" / "bin"
    subprocess.run([str(bin_dir / "pip"), "install", "-q", str(wheel)], check=True, timeout=600)
    return bin_dir


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADWATER_", "PYTHON"))}
    return env | {"HEADWATER_DATA_DIR": str(tmp_path / "data")} | extra


def test_bench_scripts_are_reachable(installed: Path, tmp_path: Path) -> None:
    listed = subprocess.run([str(installed / "headwater"), "bench", "--json"], cwd=tmp_path,
                            env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert {"e2e", "api", "rules"} <= set(orjson.loads(listed.stdout)["benchmarks"])


def test_up_from_a_wheel_deploys_the_bundled_examples(
        installed: Path, tmp_path: Path, kafka_bootstrap: str, topic_prefix: str) -> None:
    base = free_ports(2)
    env = _env(tmp_path, HEADWATER_KAFKA_BOOTSTRAP=kafka_bootstrap,
               HEADWATER_TOPIC_PREFIX=topic_prefix, HEADWATER_API_PORT=str(base),
               HEADWATER_WORKER_WEB_PORT=str(base + 1),
               HEADWATER_APP_ID=f"wheel-{topic_prefix.strip('.')}")
    missing = subprocess.run([str(installed / "headwater"), "up", "--examples", str(tmp_path / "no")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "not a folder" in missing.stderr
    proc = subprocess.Popen([str(installed / "headwater"), "up"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_healthy(f"http://127.0.0.1:{base}/health", proc)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    shipped = installed.parent / "share" / "headwater" / "examples"
    said = " ".join(output.split())  # rich wraps long lines
    assert f"example definitions from {shipped}" in said, output
    assert "deployed 0 " not in said

