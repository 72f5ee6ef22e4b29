"""The layering of DESIGN.md holds: the pure packages import no Kafka, Faust, clock or randomness."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).parents[1])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_only_the_runtime_builds_group_consumers_or_commits() -> None:
    """The poll → produce → acks → store → commit cycle is written once (`PartitionLoop`)."""
    streams = Path(__file__).parents[1] / "streams"
    offenders = []
    for path in streams.rglob("*.py"):
        if path.is_relative_to(streams / "runtime"):
            continue
        text = path.read_text()
        for needle in ("AIOKafkaConsumer(", ".commit(", "ConsumerRebalanceListener"):
            if needle in text:
                offenders.append(f"{path.relative_to(streams.parent)}: {needle}")
    assert offenders == []
