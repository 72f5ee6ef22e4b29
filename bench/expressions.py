"""Bounded expressions: the costly CEL classes, at the largest input the budget lets through.

    flock /tmp/hw-bench.lock .venv/bin/python -m bench.expressions

For each costly class (nested comprehensions, reads inside a comprehension, list and string
growth) it finds the largest input the cost budget accepts and times `Expression.evaluate`
there: that time is what one expression can hold a partition for (the aim is 50 ms). It then
times the refusal on the input the issue measured (300-400 items), and, as the same-run
reference, the raw CEL binding (no guard, whole context) on that input where it finishes in
reasonable time. The last column is the model's calibration: µs per cost unit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import cel

from bench._broker import machine
from schemas.expressions import COST_BUDGET, ExpressionError, compile_expression

Make = Callable[[int], dict[str, Any]]


def _items(n: int) -> dict[str, Any]:
    return {"input": {"items": list(range(n))}}


def _records(n: int) -> dict[str, Any]:
    return {"input": {"items": [{"id": i, "name": f"n{i}", "tags": ["a", "b"]} for i in range(n)]}}


def _text(n: int) -> dict[str, Any]:
    return {"input": {"s": "a" * n}}


CLASSES: list[tuple[str, str, Make, int]] = [
    ("map in map (issue)", "input.items.map(x, input.items.map(y, y))", _items, 300),
    ("filter in map", "input.items.map(x, input.items.filter(y, y == x))", _items, 300),
    ("all in all", "input.items.all(x, input.items.all(y, y >= 0))", _items, 400),
    ("read inside map", "input.items.map(x, input.items[0])", _items, 1000),
    ("list growth in map", "input.items.map(x, input.items + input.items)", _items, 300),
    ("map over records", "input.items.map(x, x.name + '!')", _records, 5000),
    ("single map", "input.items.map(x, x * 2)", _items, 5000),
    ("exists (linear)", "input.items.exists(x, x < 0)", _items, 90_000),
    ("string growth", "input.s.replace('a', input.s)", _text, 100_000),
    ("concatenation x8", " + ".join(["input.s"] * 8), _text, 4_000_000),
]


def _time(run: Callable[[], Any], budget_s: float = 0.2) -> float:
    run()
    calls, started = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - started < budget_s:
        run()
        calls += 1
    return (time.perf_counter() - started) / calls


def _accepted(source: str, make: Make, n: int) -> bool:
    try:
        compile_expression(source).evaluate(make(n))
    except ExpressionError as exc:
        if exc.code == "expression_too_costly":
            return False
        raise
    return True


def _largest(source: str, make: Make, ceiling: int) -> int:
    low, high = 0, ceiling  # the largest accepted size, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if _accepted(source, make, mid):
            low = mid
        else:
            high = mid - 1
    return low


def main() -> None:
    print(f"bench/expressions.py on {machine()}; budget {COST_BUDGET} units")
    print(f"{'class':22} {'largest ok':>10} {'ms there':>9} {'refusal at':>10} {'µs':>7} "
          f"{'raw CEL there':>14} {'µs/unit':>8}")
    worst = 0.0
    for name, source, make, issue_size in CLASSES:
        try:
            expression = compile_expression(source)
        except ExpressionError as exc:  # over budget on the guaranteed shape already
            print(f"{name:22} refused at validation: {exc.code}")
            continue
        largest = _largest(source, make, issue_size)
        context = make(largest)
        at_largest = _time(lambda: expression.evaluate(context))  # noqa: B023
        worst = max(worst, at_largest)
        units = expression.cost(_shape(expression, context))
        refused = make(issue_size)
        refusal = "-"
        refusal_us = 0.0
        if not _accepted(source, make, issue_size):
            refusal = str(issue_size)
            refusal_us = _time(lambda: _refuse(expression, refused), 0.05) * 1e6  # noqa: B023
        raw = _raw(source, refused) if refusal != "-" else None
        raw_text = "skipped (> 5 s)" if raw is None else f"{raw * 1000:.0f} ms"
        print(f"{name:22} {largest:10} {at_largest * 1000:9.2f} {refusal:>10} {refusal_us:7.0f} "
              f"{raw_text if refusal != '-' else '-':>14} {at_largest * 1e6 / max(units, 1):8.3f}")
    print(f"longest accepted evaluation: {worst * 1000:.1f} ms (aim: 50 ms)")


def _shape(expression: Any, context: dict[str, Any]) -> Any:
    from schemas.expressions._cost import measure

    return measure(expression.narrow(context))


def _refuse(expression: Any, context: dict[str, Any]) -> None:
    try:
        expression.evaluate(context)
    except ExpressionError:
        return
    raise AssertionError("expected a refusal")


def _raw(source: str, context: dict[str, Any]) -> float | None:
    """The unguarded binding on the same input, unless it would take more than ~5 s."""
    program = cel.compile(source)
    small = {k: v for k, v in context.items()}
    started = time.perf_counter()
    if source.count("map(") + source.count("all(") + source.count("filter(") > 1:
        return None  # cubic: 300 items take 30 s and more (the issue's measurement)
    try:
        program.execute(small)
    except Exception:
        return None
    took = time.perf_counter() - started
    return took if took < 5 else None


if __name__ == "__main__":
    main()
