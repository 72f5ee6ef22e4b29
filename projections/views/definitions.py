"""The definitions view from ``hw.definitions``: every workflow and rule, with its versions.

Key ``d/<kind>/<id>``. Each version keeps the state of its latest event by event time (a
tie goes to the record read later), so a redelivered older event never undoes a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from projections.access import Acl
from projections.views._tx import Reader, ScanReader, Tx
from schemas.definition_events import (
    DefinitionEvent,
    DefinitionPublished,
    DefinitionStatus,
)
from schemas.definitions.versions import is_version_range, parse_version, version_matches

__all__ = ["DefinitionRecord", "VersionView", "apply_definition_event", "definition_key",
           "page_definitions", "read_definitions", "start_refusal", "version_order"]


class VersionView(BaseModel):
    """One version of a definition."""

    version: str
    status: DefinitionStatus
    published_at: datetime | None = None
    updated_at: datetime
    checksum: str = ""
    name: str = ""
    owner: str | None = None
    collaborators: list[str] = []
    visibility: Literal["private", "team", "public"] = "team"
    published_by: str | None = None
    reason: str = ""


class DefinitionRecord(BaseModel):
    """A workflow or rule and all its versions.

    Attributes:
        latest: The highest published version (semantic order).
        active: Whether any version is active.
    """

    kind: str
    definition_id: str
    versions: dict[str, VersionView] = {}
    webhook_paths: list[str] = []

    @property
    def latest(self) -> str | None:
        """The highest version, semantically."""
        return max(self.versions, key=version_order, default=None)

    @property
    def active(self) -> bool:
        """Whether any version is active."""
        return any(v.status == "active" for v in self.versions.values())

    @property
    def acl(self) -> Acl:
        """Whose it is: as its latest version says."""
        latest = self.versions.get(self.latest or "")
        if latest is None:
            return Acl()
        return Acl(latest.owner, tuple(latest.collaborators), latest.visibility)


def version_order(text: str) -> tuple[Any, ...]:
    try:
        major, minor, patch, pre = parse_version(text)
    except ValueError:
        return (-1, text)
    return (major, minor, patch, pre is None, str(pre))


def definition_key(kind: str, definition_id: str) -> str:
    """The key of a definition's record."""
    return f"d/{kind}/{definition_id}"


def apply_definition_event(tx: Tx, event: DefinitionEvent) -> DefinitionRecord | None:
    """Fold one definition event into the view; the record after it (None: an older event)."""
    key = definition_key(event.kind, event.definition_id)
    record = tx.load(key, DefinitionRecord) or DefinitionRecord(
        kind=event.kind, definition_id=event.definition_id)
    current = record.versions.get(event.version)
    at = event.published_at if isinstance(event, DefinitionPublished) else event.changed_at
    if current is not None and at < current.updated_at:
        return None
    if isinstance(event, DefinitionPublished) and current is not None and current.published_at:
        return None  # a version is immutable: the workers keep the first content and its status
    if isinstance(event, DefinitionPublished):
        view = VersionView(version=event.version, status=event.status,
                           published_at=event.published_at, updated_at=event.published_at,
                           checksum=event.checksum, name=str(event.definition.get("name", "")),
                           published_by=event.published_by, reason=event.reason,
                           **_access(event.definition))
    else:
        base = current or VersionView(version=event.version, status=event.status,
                                      updated_at=event.changed_at)
        view = base.model_copy(update={"status": event.status, "updated_at": event.changed_at})
    record = record.model_copy(update={"versions": record.versions | {event.version: view}})
    tx.save(key, record)
    return record


def _access(definition: dict[str, Any]) -> dict[str, Any]:
    owner = definition.get("owner")
    collaborators = definition.get("collaborators") or []
    visibility = definition.get("visibility", "team")
    return {"owner": owner if isinstance(owner, str) else None,
            "collaborators": [c for c in collaborators if isinstance(c, str)],
            "visibility": visibility if visibility in ("private", "team", "public") else "team"}


def read_definitions(reader: ScanReader, kind: str) -> list[DefinitionRecord]:
    """Every definition of ``kind`` (``workflow`` or ``rule``), by id."""
    return [DefinitionRecord.model_validate_json(value)
            for _, value in reader.scan(f"d/{kind}/")]


def page_definitions(reader: ScanReader, kind: str, *, limit: int, after: str | None = None,
                     keep: Callable[[DefinitionRecord], bool] = lambda _: True,
                     ) -> tuple[list[DefinitionRecord], str | None]:
    """Up to ``limit`` definitions of ``kind`` that ``keep`` accepts, by id after ``after``.

    Returns:
        The records, and the id to pass as ``after`` for the next page (None on the last).
    """
    prefix = f"d/{kind}/"
    records: list[DefinitionRecord] = []
    start = None if after is None else prefix + after
    for _, value in reader.scan(prefix, start_after=start):
        if len(records) == limit:
            return records, records[-1].definition_id
        record = DefinitionRecord.model_validate_json(value)
        if keep(record):
            records.append(record)
    return records, None


def read_definition(reader: Reader, kind: str, definition_id: str) -> DefinitionRecord | None:
    """One definition, or None."""
    data = reader.get(definition_key(kind, definition_id))
    return None if data is None else DefinitionRecord.model_validate_json(data)


def start_refusal(record: DefinitionRecord | None, workflow_id: str,
                  version: str | None) -> tuple[int, str] | None:
    """Why the engine would refuse to start ``workflow_id`` at ``version``, as an HTTP status
    and a message; None when it would start. The engine's rule: an exact version that exists
    (whatever its status), else the newest active version in the range (or of all, for None).
    """
    resolved = start_version(record, workflow_id, version)
    return resolved if isinstance(resolved, tuple) else None


def start_version(record: DefinitionRecord | None, workflow_id: str,
                  version: str | None) -> str | tuple[int, str]:
    """The version a start of ``workflow_id`` at ``version`` runs, by the engine's rule, or
    why it would be refused (an HTTP status and a message)."""
    what = f"workflow {workflow_id!r}"
    if record is None:
        return 404, f"{what} not found"
    if version is not None and version in record.versions:
        return version if record.active else (409, f"{what} has no active version")
    if version is not None and not is_version_range(version):
        return 422, f"version: {version!r} is neither a version nor a range (e.g. 1.2.0, ^1.2)"
    active = [v for v, view in record.versions.items() if view.status == "active"]
    if not active:
        return 409, f"{what} has no active version (paused or deprecated)"
    if version is not None:
        active = [v for v in active if _in_range(v, version)]
        if not active:
            shown = ", ".join(v for v, view in record.versions.items() if view.status == "active")
            return 404, f"{what} has no active version in {version!r} (active: {shown})"
    return max(active, key=version_order)


def _in_range(version: str, range_: str) -> bool:
    try:
        return version_matches(version, range_)
    except ValueError:
        return False
