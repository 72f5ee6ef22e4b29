"""Rewrite the results section of RELIABILITY.md from docs/reliability/results/*.json (what
`python -m bench.chaos ... --record` wrote), so the document quotes the runs, not a memory.

    .venv/bin/python -m bench.chaos.report
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
DOC = ROOT / "RELIABILITY.md"
RESULTS = ROOT / "docs" / "reliability" / "results"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
ORDER = ["broker-kill", "broker-pause", "worker-kill", "churn", "net-latency", "net-loss",
         "net-partition", "disk-full", "corrupt-store", "soak"]


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value:,}{unit}"


def section(result: dict[str, Any]) -> str:
    f = result.get("figures", {})
    verdict = "**pass**" if result["passed"] else "**FAIL**"
    lines = [f"### {result['scenario']}: {verdict}", "",
             f"{result['date']}; {result['machine']}; "
             f"{result.get('load_before', '')} before, {result.get('load_after', 'n/a')} after. "
             f"`{result['command']}` ({_fmt(result.get('wall_s'), ' s')} wall)."
             + (f" {result['note']}." if result.get("note") and result["scenario"] != "soak"
                else ""), ""]
    if result["scenario"] == "soak":
        flat = result["flatness"]
        lines += [f"Maximum {result['max_units_per_s']} units/s (burst); soaked at "
                  f"{result['rate']} units/s for {result['minutes']:g} min."
                  + (f" {result['note']}." if result.get("note") else ""), "",
                  "| figure | middle third | last third | flat |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['middle']} | {v['last']} | {'yes' if v['flat'] else 'no'} |"
                  for k, v in flat.items()]
        lines += ["", "![soak](docs/reliability/soak.png)", ""]
    else:
        lines += ["| throughput before → lowest (executions/s) | dip | in flight before → peak "
                  "| recovered (from fault / from its end) | p99 start → end |",
                  "|---|---|---|---|---|",
                  f"| {_fmt(f.get('throughput_before'))} → {_fmt(f.get('throughput_lowest'))} "
                  f"| {_fmt(f.get('dip_percent'), ' %')} "
                  f"| {_fmt(f.get('in_flight_before_max'))} → {_fmt(f.get('in_flight_peak'))} "
                  f"| {_fmt(f.get('recover_s_from_fault'), ' s')} / "
                  f"{_fmt(f.get('recover_s_from_heal'), ' s')} "
                  f"| {_fmt(f.get('p99_latency_s'), ' s')} |", ""]
    counts = result.get("counts", {})
    lines.append("Verifier: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in counts.items())
                 + ".")
    failed = {k: v for k, v in result.get("checks", {}).items() if v != "ok"}
    lines += [f"- FAILED {k}: {v}" for k, v in failed.items()]
    extra = result.get("extra") or {}
    if extra:
        lines.append("Observed: " + "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in extra.items()) + ".")
    return "\n".join(lines) + "\n"


def main() -> None:
    found = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}
    rows = ["| scenario | verdict | date | lowest throughput (dip) | recovered, from the fault's "
            "start / end | p99 start → end |", "|---|---|---|---|---|---|"]
    for name in (n for n in ORDER if n in found):
        r, f = found[name], found[name].get("figures", {})
        if name == "soak":
            rows.append(f"| soak | {'pass' if r['passed'] else 'FAIL'} | {r['date']} | "
                        f"{r['minutes']:g} min at {r['rate']} units/s | flat: "
                        f"{all(v['flat'] for v in r['flatness'].values())} | see below |")
            continue
        rows.append(f"| {name} | {'pass' if r['passed'] else 'FAIL'} | {r['date']} | "
                    f"{_fmt(f.get('throughput_lowest'))}/s ({_fmt(f.get('dip_percent'), ' %')}) | "
                    f"{_fmt(f.get('recover_s_from_fault'), ' s')} / "
                    f"{_fmt(f.get('recover_s_from_heal'), ' s')} | "
                    f"{_fmt(f.get('p99_latency_s'), ' s')} |")
    body = "\n".join(rows) + "\n\n" + "\n".join(section(found[name]) for name in ORDER
                                               if name in found)
    text = DOC.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{body}{END}{tail}")
    print(f"{DOC.name}: {len(found)} results")


if __name__ == "__main__":
    main()
