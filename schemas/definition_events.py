"""Definition events on ``hw.definitions``: a workflow or rule was published or changed status.

The topic is compacted and every worker reads all of it, so a record must stand alone: a
published event carries the whole definition as JSON. Recommended key: ``definition_key``
(kind, id and version), so that compaction keeps every version a running execution or a
subprocess version range may still need; a status change is keyed like the version it changes.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime
from schemas.pinned_mocks import MocksPinned
from schemas.template_events import TEMPLATE_EVENT_TYPES

__all__ = [
    "DEFINITION_EVENT_TYPES",
    "DefinitionCommented",
    "DefinitionEvent",
    "DefinitionKind",
    "DefinitionPublished",
    "DefinitionStatus",
    "DefinitionStatusChanged",
    "content_checksum",
    "definition_key",
]

DefinitionKind = Literal["workflow", "rule"]
DefinitionStatus = Literal["draft", "active", "paused", "deprecated"]


def definition_key(kind: str, definition_id: str, version: str) -> str:
    """The Kafka key of one definition version, e.g. ``"workflow:order-flow@1.2.0"``."""
    return f"{kind}:{definition_id}@{version}"


def content_checksum(definition: BaseModel) -> str:
    """The digest that tells a re-publish of a version from a change: SHA-256 of the validated
    definition's JSON (``model_dump(mode="json", by_alias=True, exclude_none=True)``, keys
    sorted), as the API, the CLI and the workers compute it."""
    body = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class DefinitionPublished(BaseModel):
    """A workflow or rule definition version was published (or re-published unchanged).

    Attributes:
        kind: ``workflow`` or ``rule``.
        definition_id: The definition's ``id``.
        version: Its semantic version; with kind and id it names this exact definition.
        definition: The validated definition, as JSON (``model_dump(mode="json")``).
        status: Its status when published.
        published_at: When it was published.
        published_by: Who published it, if known.
        checksum: A digest of ``definition`` so readers can tell a re-publish from a change.
        reason: Why it was published (a change note), free text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["definition_published"] = "definition_published"
    kind: DefinitionKind
    definition_id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    definition: dict[str, Any]
    status: DefinitionStatus = "active"
    published_at: UtcDatetime
    published_by: str | None = None
    checksum: str = ""
    reason: str = ""

    @property
    def key(self) -> str:
        """The Kafka key of this record (see ``definition_key``)."""
        return definition_key(self.kind, self.definition_id, self.version)


class DefinitionStatusChanged(BaseModel):
    """A published definition version moved to another status.

    Attributes:
        kind: ``workflow`` or ``rule``.
        definition_id: The definition's ``id``.
        version: The version whose status changed.
        status: The new status.
        previous_status: The status before, if known.
        changed_at: When it changed.
        changed_by: Who changed it, if known.
        reason: Why, free text.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["definition_status_changed"] = "definition_status_changed"
    kind: DefinitionKind
    definition_id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    status: DefinitionStatus
    previous_status: DefinitionStatus | None = None
    changed_at: UtcDatetime
    changed_by: str | None = None
    reason: str = ""

    @property
    def key(self) -> str:
        """The Kafka key of this record: the version's key with ``#status``.

        Not the version's own key: the topic is compacted, and a status change under the same
        key as the published definition would, once compacted, leave a version with a status
        and no definition (a worker starting later could not run it). Compaction keeps the
        latest status of each version beside its one published body.
        """
        return f"{definition_key(self.kind, self.definition_id, self.version)}#status"


class DefinitionCommented(BaseModel):
    """Someone commented on a workflow or rule, or on one version of it.

    Keyed ``<kind>:<id>#comment:<comment id>`` so that compaction keeps every comment; the
    engine reads past it (a comment defines nothing to run).

    Attributes:
        kind: ``workflow`` or ``rule``.
        definition_id: The definition's ``id``.
        version: The version commented on; None for the definition as a whole.
        comment_id: Unique per definition (a repeated write of one comment is one comment).
        author: Who wrote it, if known.
        text: The comment.
        commented_at: When.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["definition_commented"] = "definition_commented"
    kind: DefinitionKind
    definition_id: str = Field(min_length=1)
    version: str | None = None
    comment_id: str = Field(min_length=1)
    author: str | None = None
    text: str = Field(min_length=1, max_length=4000)
    commented_at: UtcDatetime

    @property
    def key(self) -> str:
        """The Kafka key of this record: one per comment."""
        return f"{self.kind}:{self.definition_id}#comment:{self.comment_id}"


DefinitionEvent = DefinitionPublished | DefinitionStatusChanged
DEFINITION_EVENT_TYPES: tuple[type[BaseModel], ...] = (
    DefinitionPublished, DefinitionStatusChanged, DefinitionCommented, *TEMPLATE_EVENT_TYPES,
    MocksPinned)
"""The value union of the definitions topic, in its fixed order (append only)."""
