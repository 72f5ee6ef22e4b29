"""The active rulebook and the rule statistics as the views hold them, for the rule tools.

`POST /rules/test` needs a rule's published body and the other rules of its exclusive group;
`GET /rules/insights` needs every active rule and its statistics. Both read them here: the
newest active version of each rule (what the trigger agent runs), parsed once per request.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ValidationError

from projections.views._tx import Reader, ScanReader
from projections.views.bodies import newest_active, read_body
from projections.views.definitions import DefinitionRecord, read_definition, version_order
from projections.views.rule_stats import RuleStats, read_rule_stats
from schemas.definitions import RuleDefinition

__all__ = ["active_rules", "chosen_version", "rule_version"]


def chosen_version(record: DefinitionRecord, version: str | None) -> str | None:
    """`version` if the record has it; without one, the newest active, else the latest."""
    if version is not None:
        return version if version in record.versions else None
    return newest_active(record) or max(record.versions, key=version_order, default=None)


def rule_version(reader: Reader, rule_id: str, version: str | None
                 ) -> tuple[DefinitionRecord, RuleDefinition] | None:
    """A rule's record and one version's definition (as `chosen_version` picks it)."""
    record = read_definition(reader, "rule", rule_id)
    if record is None:
        return None
    chosen = chosen_version(record, version)
    body = read_body(reader, "rule", rule_id, chosen) if chosen is not None else None
    if body is None:
        return None
    definition = _parse(body)
    if definition is None:
        return None
    # The body keeps the status it was published with; the record has the current one.
    status = record.versions[chosen].status if chosen in record.versions else None
    if status is not None and status != definition.status:
        definition = definition.model_copy(update={"status": status})
    return record, definition


def active_rules(reader: ScanReader) -> Iterator[tuple[DefinitionRecord, RuleDefinition,
                                                       RuleStats | None]]:
    """Every rule with an active version: its record, that version and its statistics."""
    for _, value in reader.scan("d/rule/"):
        record = DefinitionRecord.model_validate_json(value)
        version = newest_active(record)
        body = read_body(reader, "rule", record.definition_id, version) if version else None
        definition = _parse(body) if body is not None else None
        if definition is not None:
            if definition.status != "active":
                definition = definition.model_copy(update={"status": "active"})
            yield record, definition, read_rule_stats(reader, record.definition_id)


def _parse(body: dict[str, object]) -> RuleDefinition | None:
    try:
        return RuleDefinition.model_validate(body)
    except ValidationError:  # published bodies were validated; an older layout is skipped
        return None
