"""Run rulesets and events through durable_rules; a subprocess, since it can hang or crash.

Reads JSON from stdin: `{"mode": "assert"|"post", "rulesets": {name: [[rule_id, condition,
pri], ...]}, "events": [[ruleset, event], ...]}`; writes the fired rule ids per event (a list
with repeats, in firing order) or `{"error": code}`. Uses the C engine directly: the Python
`Host` polls from background threads and crashes on first use under load.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import durable_rules_engine as engine


def fired_rules(handle: int, result: Any) -> list[str] | dict[str, int]:
    if result[0] == 1:  # "message not handled": no rule matched
        return []
    if result[0] != 0:
        return {"error": result[0]}
    fired: list[str] = []
    started = engine.start_action_for_state(handle, result[1])
    message = started[1] if started else None  # (state, message) first, then messages
    while message:
        fired.extend(json.loads(message).keys())
        message = engine.complete_and_start_action(handle, result[1])
    return fired


def main() -> None:
    request = json.load(sys.stdin)
    handles = {}
    for name, rules in request["rulesets"].items():
        definition = {}
        for rule_id, condition, pri in rules:
            definition[rule_id] = {"all": [{"m": condition}], "pri": pri}
        handles[name] = engine.create_ruleset(name, json.dumps(definition))
    post = request["mode"] == "post"
    out = []
    for i, (name, event) in enumerate(request["events"]):
        handle = handles[name]
        fact = {**event, "sid": str(i), "id": f"fact-{i}"}
        send = engine.assert_event if post else engine.assert_fact
        try:
            out.append(fired_rules(handle, send(handle, json.dumps(fact))))
        except Exception as exc:
            out.append({"error": str(exc.args[0]) if exc.args else repr(exc)})
        engine.delete_state(handle, str(i))  # 1,024 live sessions per ruleset otherwise
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
