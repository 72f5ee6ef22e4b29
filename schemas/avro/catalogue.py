"""The event catalogue: every topic's key and value schema, generated from the event models.

One value schema per topic: the Avro union of one record per event type of that topic.
Record full names carry the event's major version in the namespace
(``headwater.<topic>.v1.<Event>``); a compatible change (a new field with a default) keeps
the name, an incompatible one adds a ``v2`` record beside the ``v1`` one.

Run ``python -m schemas.avro.catalogue`` to rewrite the committed ``.avsc`` files after a
model change (``--check`` only reports drift).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel

from schemas.alerts import ALERT_TYPES
from schemas.avro._generate import union_schema
from schemas.commands import COMMAND_TYPES
from schemas.dead_letters import DEAD_LETTER_TYPES
from schemas.definition_events import DEFINITION_EVENT_TYPES
from schemas.executions import EVENT_TYPES as EXECUTION_EVENT_TYPES
from schemas.outcomes import RULE_OUTCOME_TYPES
from schemas.tasks import TASK_EVENT_TYPES
from schemas.triggers import TriggerEvent

__all__ = [
    "AVSC_DIR",
    "CATALOGUE",
    "TopicSchemas",
    "generate_files",
    "key_schema",
    "main",
    "value_schema",
]

AVSC_DIR = Path(__file__).parent
"""Where the generated ``<role>-key.avsc`` and ``<role>-value.avsc`` files live."""


@dataclass(frozen=True)
class TopicSchemas:
    """The schemas of one topic role (the topic name without its configurable prefix).

    Attributes:
        role: e.g. ``"executions"``; the topic is ``<prefix><role>``.
        key: The Avro key schema: ``"string"``, or ``"bytes"`` for dead letters.
        events: The event models whose records make up the value union, in a fixed order
            (append only: the order is part of the binary encoding).
        key_doc: What the key holds.
    """

    role: str
    key: str
    events: tuple[type[BaseModel], ...]
    key_doc: str

    @property
    def namespace(self) -> str:
        """The Avro namespace of this topic's records, e.g. ``headwater.rule_outcomes.v1``."""
        return f"headwater.{self.role.replace('-', '_')}.v1"

    def key_file(self) -> str:
        """The file name of the key schema."""
        return f"{self.role}-key.avsc"

    def value_file(self) -> str:
        """The file name of the value schema."""
        return f"{self.role}-value.avsc"


def _catalogue() -> dict[str, TopicSchemas]:
    entries = [
        TopicSchemas(
            "triggers", "string", (TriggerEvent,), "correlation key: the CloudEvent subject"
        ),
        TopicSchemas(
            "definitions", "string", DEFINITION_EVENT_TYPES, "definition key: <kind>:<id>@<version>"
        ),
        TopicSchemas("commands", "string", COMMAND_TYPES, "execution id"),
        TopicSchemas("executions", "string", EXECUTION_EVENT_TYPES, "execution id"),
        TopicSchemas("tasks", "string", TASK_EVENT_TYPES, "execution id"),
        TopicSchemas("rule-outcomes", "string", RULE_OUTCOME_TYPES, "rule id"),
        TopicSchemas("dead-letters", "bytes", DEAD_LETTER_TYPES, "the original record's key bytes"),
        TopicSchemas("alerts", "string", ALERT_TYPES, "alert key: workflow:<id>, failure-rate:<id>, dead-letters, projection-lag, rule-actions:<id>"),
    ]
    return {entry.role: entry for entry in entries}


CATALOGUE: Mapping[str, TopicSchemas] = _catalogue()
"""Topic role -> its schemas, for every topic of the design."""


def _dumps(schema: Any) -> str:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode() + "\n"


def generate_files() -> dict[str, str]:
    """File name -> content of every ``.avsc`` file, generated from the models now."""
    files: dict[str, str] = {}
    for entry in CATALOGUE.values():
        files[entry.key_file()] = _dumps(entry.key)
        files[entry.value_file()] = _dumps(union_schema(entry.events, entry.namespace))
    return files


@cache
def key_schema(role: str) -> Any:
    """The committed key schema of a topic role, as JSON data."""
    return orjson.loads((AVSC_DIR / CATALOGUE[role].key_file()).read_bytes())


@cache
def value_schema(role: str) -> Any:
    """The committed value schema (a union of records) of a topic role, as JSON data."""
    return orjson.loads((AVSC_DIR / CATALOGUE[role].value_file()).read_bytes())


def main(argv: list[str] | None = None) -> int:
    """Write the generated ``.avsc`` files, or with ``--check`` only report drift."""
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    drifted = []
    for name, text in generate_files().items():
        path = AVSC_DIR / name
        if not path.exists() or path.read_text() != text:
            drifted.append(name)
            if not check:
                path.write_text(text)
    verb = "out of date" if check else "written"
    print(f"{len(drifted)} schema file(s) {verb}: {', '.join(drifted) or '-'}")
    return 1 if check and drifted else 0


if __name__ == "__main__":
    raise SystemExit(main())
