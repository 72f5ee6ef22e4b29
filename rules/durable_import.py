"""Bring rules in from durable_rules: its JSON ruleset form, single-event rules.

A durable_rules ruleset is `{"<ruleset>": {"<rule>": {"all"|"any": [{"m": <condition>}],
"pri": n, ...}}}` (the form `durable.lang` serialises to and `create_ruleset` takes). Each rule
becomes a headwater rule: the condition carries over with field paths read under `data.`
(durable_rules facts are flat JSON, headwater conditions read the CloudEvent), `pri` becomes
`priority = -pri` (durable_rules fires the lowest `pri` first), `any` of single-event
alternatives becomes `$or`, and the action starts a workflow named after the rule (or the
one given) with the event's data.

What cannot be carried is reported per rule and the rule is left out: joins (`all` over
several events, references to another event), `$s` (the ruleset's state), arithmetic
(`$add`, `$sub`, `$mul`, `$div`), `count`/`cap`/`dist`. What carries over but means something
else in headwater is a warning on the rule (docs/rules.md lists the differences).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.validation import validate_definition

__all__ = ["Imported", "import_ruleset"]

_ARITHMETIC = frozenset({"$add", "$sub", "$mul", "$div"})
_COMPARE = frozenset({"$eq", "$neq", "$gt", "$gte", "$lt", "$lte"})
_FIELD_OPS = _COMPARE | {"$ex", "$nex", "$mt", "$imt", "$iany", "$iall"}
_SLUG_BAD = re.compile(r"[^a-z0-9_.-]+")


@dataclass(frozen=True, slots=True)
class Imported:
    """One durable_rules rule, converted or not.

    Attributes:
        ruleset: the durable_rules ruleset it came from.
        name: its name there.
        rule: the headwater rule definition (JSON), or None when it cannot be carried.
        problems: why it cannot be carried (empty when `rule` is set).
        warnings: where the converted rule means something else than in durable_rules.
    """

    ruleset: str
    name: str
    rule: dict[str, Any] | None
    problems: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def import_ruleset(data: Any, *, event_type: str | None = None, prefix: str = "data.",
                   workflow: str | None = None) -> list[Imported]:
    """Convert every rule of every ruleset in `data` (never raises on bad input: it reports).

    Args:
        data: the parsed JSON, `{ruleset: {rule: definition}}`.
        event_type: the trigger's event type; default: the ruleset's name.
        prefix: where durable_rules' fact fields live in a headwater event.
        workflow: the workflow every rule starts; default: one named after the rule.
    """
    if not isinstance(data, Mapping) or not data:
        return [Imported("", "", None, ("not a durable_rules ruleset: expected "
                                         '{"<ruleset>": {"<rule>": {...}}}',))]
    out: list[Imported] = []
    for ruleset, rules in data.items():
        if not isinstance(rules, Mapping):
            out.append(Imported(str(ruleset), "", None, ("a ruleset is an object of rules",)))
            continue
        for name, definition in rules.items():
            out.append(_convert(str(ruleset), str(name), definition, event_type or str(ruleset),
                                prefix, workflow))
    return out


def _convert(ruleset: str, name: str, definition: Any, event_type: str, prefix: str,
             workflow: str | None) -> Imported:
    if not isinstance(definition, Mapping):
        return Imported(ruleset, name, None, ("a rule is an object",))
    problems = [f"`{key}` (counting and capping events) has no headwater equivalent"
                for key in ("count", "cap", "dist") if key in definition]
    facts = _facts(definition, problems)
    conditions = []
    for alias, condition in facts:
        problems += _uncarried(condition, alias, {a for a, _ in facts})
        conditions.append(condition)
    if problems or not conditions:
        return Imported(ruleset, name, None, tuple(problems or ["the rule has no condition"]))
    condition = conditions[0] if len(conditions) == 1 else {"$or": conditions}
    warnings = sorted(set(_warnings(condition)) | ({_OR_WARNING} if len(conditions) > 1
                                                     else set()))
    rule_id = _slug(f"{ruleset}-{name}")
    rule: dict[str, Any] = {
        "kind": "rule", "id": rule_id, "name": f"{name} (from durable_rules {ruleset})",
        "description": f"Imported from durable_rules ruleset {ruleset!r}, rule {name!r}.",
        "trigger": {"event_type": event_type},
        "conditions": _prefixed(condition, prefix),
        "actions": [{"type": "start_workflow", "workflow_id": workflow or _slug(name),
                     "input": "${ event.data }"}],
    }
    pri = definition.get("pri")
    if isinstance(pri, int) and not isinstance(pri, bool) and pri:
        rule["priority"] = -pri
    report = validate_definition(rule)
    if report.definition is None:  # an operator or value headwater does not know
        return Imported(ruleset, name, None, tuple(
            f"{p.path}: {p.message}" for p in report.errors), tuple(warnings))
    return Imported(ruleset, name, rule, (), tuple(warnings))


def _facts(definition: Mapping[str, Any], problems: list[str]) -> list[tuple[str, Any]]:
    """The (alias, condition) of each event the rule reads; a join is a problem."""
    if "all" in definition and "any" in definition:
        problems.append("`all` and `any` together combine several events (a join)")
        return []
    kind = "all" if "all" in definition else "any"
    parts = definition.get(kind)
    if not isinstance(parts, list) or not parts:
        problems.append("the rule needs `all` or `any`: a list of event conditions")
        return []
    facts = []
    for part in parts:
        if not isinstance(part, Mapping) or len(part) != 1:
            problems.append("each event condition is an object with one alias (`m`)")
            return []
        ((alias, condition),) = part.items()
        if alias in ("all", "any") or not isinstance(condition, Mapping):
            problems.append(f"nested `{alias}` combines several events (a join)")
            return []
        facts.append((str(alias), condition))
    if kind == "all" and len(facts) > 1:
        problems.append(f"`all` over {len(facts)} events is a join; headwater rules read one "
                        "event (a sequence pattern may fit)")
        return []
    return facts


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, operand) in a condition, depth first."""
    if isinstance(node, Mapping):
        for key, operand in node.items():
            yield str(key), operand
            yield from _walk(operand)
    elif isinstance(node, list):
        for part in node:
            yield from _walk(part)


def _uncarried(condition: Any, alias: str, aliases: set[str]) -> list[str]:
    problems = set()
    for key, operand in _walk(condition):
        if key == "$s":
            problems.add("`$s` reads the ruleset's state, which headwater rules do not keep")
        elif key in _ARITHMETIC:
            problems.add(f"`{key}` (arithmetic in a condition) has no headwater equivalent; "
                         "a `$expr` in CEL may express it")
        elif key in _COMPARE and isinstance(operand, Mapping):
            for value in operand.values():
                others = sorted(k for k in value if not k.startswith("$")) \
                    if isinstance(value, Mapping) else []
                if others:  # {"first": "ref"}: a field of another event
                    problems.add(f"a value taken from event `{others[0]}` is a join")
    return sorted(problems)


_OR_WARNING = ("durable_rules fires once per alternative that holds (`any`, `$or`); "
               "headwater fires a rule once per event")


def _warnings(condition: Any) -> Iterator[str]:
    for key, operand in _walk(condition):
        if key in ("$mt", "$imt"):
            yield ("`$mt`/`$imt` match strings only; durable_rules also matches numbers, "
                   "booleans and null by their text")
        elif key in ("$gt", "$gte", "$lt", "$lte"):
            yield ("ranges compare numbers with numbers and strings with strings; "
                   "durable_rules compares numeric strings and booleans as numbers")
        elif key == "$neq":
            yield ("`$neq` holds for an array or object value; durable_rules never fires "
                   "`$neq` on one")
        elif key == "$or":
            yield _OR_WARNING
        elif key == "$nex":
            yield ("`$nex` holds only when the field is absent (durable_rules may fire it on "
                   "a present field once another rule matched the fact)")
        if not key.startswith("$") and "." in key:
            yield (f"`{key}` reads nested objects in headwater; durable_rules reads a "
                   "literal dotted key")
        if _mentions_boolean(key, operand):
            yield ("booleans and strings are different values (`true` != \"true\"); "
                   "durable_rules compares them as text")


def _mentions_boolean(key: str, operand: Any) -> bool:
    values = [operand] if not key.startswith("$") else (
        list(operand.values()) if key in ("$eq", "$neq") and isinstance(operand, Mapping) else [])
    return any(isinstance(v, bool) or v in ("true", "false") for v in values)


def _prefixed(node: Any, prefix: str) -> Any:
    """Field paths read under `prefix` (`$i` item paths and `$m` references too)."""
    if isinstance(node, list):
        return [_prefixed(part, prefix) for part in node]
    if not isinstance(node, Mapping):
        return node
    if len(node) > 1:  # durable_rules' implicit and; headwater spells it out
        return {"$and": [_prefixed({k: v}, prefix) for k, v in node.items()]}
    out: dict[str, Any] = {}
    for key, operand in node.items():
        if key in ("$and", "$or"):
            out[key] = _prefixed(operand, prefix)
        elif key in _FIELD_OPS and isinstance(operand, Mapping):
            out[key] = {_path(f, prefix): _ref(v, prefix) if key in _COMPARE else v
                        for f, v in operand.items()}
        elif key.startswith("$"):
            out[key] = operand
        else:
            out[_path(key, prefix)] = _ref(operand, prefix)
    return out


def _path(path: str, prefix: str) -> str:
    return path if path == "$i" or path.startswith("$i.") else prefix + path


def _ref(value: Any, prefix: str) -> Any:
    if isinstance(value, Mapping) and set(value) == {"$m"} and isinstance(value["$m"], str):
        return {"$m": prefix + value["$m"]}
    return value


def _slug(text: str) -> str:
    slug = _SLUG_BAD.sub("-", text.lower()).strip("-.") or "rule"
    return slug[:64]
