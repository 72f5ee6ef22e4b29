"""Linear-time regexes: the catastrophic pattern classes on RE2, against 1 KB and 100 KB.

    flock /tmp/hw-bench.lock .venv/bin/python -m bench.regex [--quick]

For each pattern class that backtracks exponentially on Python's `re` (nested quantifiers,
alternations under a repeat) it times headwater's `$mt` matcher (`compile_regex`, RE2) on a
hostile input of 1 KB and of 100 KB (the pattern's run, then one character that makes it
fail), and prints µs per evaluation at 1, 10 and 100 KB (linear: x10 per step, once fixed
costs are amortised) and ns per input byte at 100 KB. The same-run reference is Python's `re` on a safe
pattern (`[a-z]+!`) over the same inputs; `re` on the hostile patterns themselves is shown
on a 24-byte input only (each 2 more characters multiply its time by about 2 to 4).
`--quick` (the smoke test's): 1 KB only, a short budget and `re` on a 12-byte input.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from bench._broker import machine
from schemas.expressions import compile_regex

# (name, pattern, character the run is made of)
CLASSES = [
    ("nested quantifier", r"(a+)+$", "a"),
    ("alternation, same branch", r"(a|a)+$", "a"),
    ("alternation, overlapping", r"(a|aa)+$", "a"),
    ("class and letter", r"(\w|a)+$", "a"),
    ("star of star", r"(a*)*b", "a"),
    ("repeated optional", r"(a?){20}a{20}", "a"),
    ("dot-star chain", r".*a.*a.*a.*b", "a"),
    ("email-like", r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@)", "a"),
]
SIZES = [1_000, 10_000, 100_000]


def _per_call(test: Callable[[str], object], text: str, budget_s: float = 0.3) -> float:
    """Seconds per call: the best of 5 rounds, each as many calls as fit in a fifth of
    `budget_s` (at least 2); the machine is shared, so the best round is the steady one."""
    test(text)  # warm: RE2 builds its DFA states lazily, on first use
    rounds = []
    for _ in range(5):
        calls, started = 0, time.perf_counter()
        while calls < 2 or time.perf_counter() - started < budget_s / 5:
            test(text)
            calls += 1
        rounds.append((time.perf_counter() - started) / calls)
    return min(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 KB only, a short budget")
    quick = parser.parse_args().quick
    sizes, budget, hostile = (SIZES[:1], 0.01, 11) if quick else (SIZES, 0.3, 23)
    print(f"bench/regex.py on {machine()}")
    safe = re.compile(r"[a-z]+!").fullmatch
    print(f"{'class':26} {'pattern':16} {'1 KB µs':>8} {'10 KB µs':>9} {'100 KB µs':>10} "
          f"{'ns/B':>6} {'re safe 100 KB µs':>18} {'re hostile 24 B µs':>19}")
    for name, pattern, char in CLASSES:
        matcher = compile_regex(pattern)
        times = []
        for size in sizes:
            text = char * (size - 1) + "!"
            assert matcher(text) is False
            times.append(_per_call(matcher, text, budget))
        times += [float("nan")] * (len(SIZES) - len(sizes))
        reference = _per_call(safe, "a" * (sizes[-1] - 1) + "!", budget)
        hostile_re = re.compile(pattern).fullmatch
        short = _per_call(hostile_re, char * hostile + "!", budget_s=min(budget, 0.05))
        ns_per_byte = times[len(sizes) - 1] / sizes[-1] * 1e9
        print(f"{name:26} {pattern[:16]:16} {times[0] * 1e6:8.1f} {times[1] * 1e6:9.1f} "
              f"{times[2] * 1e6:10.1f} {ns_per_byte:6.2f} {reference * 1e6:18.1f} "
              f"{short * 1e6:19.0f}")


if __name__ == "__main__":
    main()
