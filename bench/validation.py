"""Validation time for 10-, 100- and 1,000-step workflows, against a pydantic-only parse.

Run: `.venv/bin/python bench/validation.py`. The reference in the same run is the bare
`WorkflowDefinition.model_validate` (schema only), so the figure shows what the flow,
expression and data-flow checks add. The product requirement is under 500 ms at 1,000 steps.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from schemas.definitions import WorkflowDefinition
from schemas.validation import validate_workflow


def workflow(steps: int) -> dict[str, Any]:
    """A realistic workflow: actions with mappings, a condition every 10 steps, a loop."""
    body: list[dict[str, Any]] = []
    for i in range(steps):
        if i % 10 == 5:
            body.append(
                {
                    "id": f"s{i}",
                    "type": "condition",
                    "branches": [{"when": f"vars.v{i - 1} > 3", "next": f"s{i + 1}"}],
                }
            )
        elif i % 10 == 9 and i + 1 < steps:
            body.append(
                {
                    "id": f"s{i}",
                    "type": "loop",
                    "for_each": "input.items",
                    "steps": [
                        {
                            "id": f"s{i}_body",
                            "action": "transform",
                            "with": {"x": "${ item }", "i": "${ index }"},
                        }
                    ],
                }
            )
        else:
            body.append(
                {
                    "id": f"s{i}",
                    "action": "http",
                    "timeout": "30s",
                    "with": {
                        "url": f"https://svc/{i}",
                        "body": {"prev": "${ input.x }", "msg": f"step {i} of ${{ execution.id }}"},
                    },
                    "output": {f"v{i}": "${ output.n }"},
                }
            )
    return {
        "id": f"bench-{steps}",
        "name": "bench",
        "steps": body,
        "variables": {"v-1": 0},
        "outputs": {"last": "${ steps.s0.output }"},
    }


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Median and p95 in milliseconds over `repeat` runs, after one warm-up."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    """Print one line per size: full validation vs schema-only parse."""
    print(f"{'steps':>6} {'validate p50':>13} {'p95':>8} {'schema-only p50':>16} {'ok':>4}")
    for steps, repeat in ((10, 200), (100, 50), (1000, 15)):
        data = workflow(steps)
        report = validate_workflow(data)
        full = timed(lambda d=data: validate_workflow(d), repeat)
        schema = timed(lambda d=data: WorkflowDefinition.model_validate(d), repeat)
        print(
            f"{steps:>6} {full[0]:>10.2f} ms {full[1]:>5.2f} ms {schema[0]:>13.2f} ms "
            f"{'yes' if report.ok else 'NO':>4}"
        )
        if not report.ok:
            print("   ", [str(p) for p in report.errors[:3]])


if __name__ == "__main__":
    main()
