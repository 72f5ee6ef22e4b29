"""Workflow templates on ``hw.definitions``: saved by users beside the bundled examples.

A template is a workflow definition whose strings may hold ``{{ params.NAME }}`` placeholders,
with the parameters it declares; instantiating it renders the placeholders
(``schemas.templates.instantiate``). Keyed ``template:<id>`` so compaction keeps the latest
save of each template; a deletion is an event too, so the history stays in the log.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime

__all__ = ["TEMPLATE_EVENT_TYPES", "TemplateDeleted", "TemplateParameter", "TemplateSaved",
           "template_key"]

_CONFIG = ConfigDict(frozen=True, extra="forbid")
ParameterType = Literal["string", "number", "integer", "boolean", "object", "array"]


def template_key(template_id: str) -> str:
    """The Kafka key of a template's records."""
    return f"template:{template_id}"


class TemplateParameter(BaseModel):
    """One value a template asks for when it is instantiated.

    Attributes:
        name: Used as ``{{ params.<name> }}`` in the template.
        type: The JSON type the value must have.
        required: Whether instantiating without it (and without a default) is refused.
        default: The value when none is given.
    """

    model_config = _CONFIG

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
    description: str = ""
    type: ParameterType = "string"
    required: bool = False
    default: Any = None


class TemplateSaved(BaseModel):
    """A template was saved (created or replaced).

    Attributes:
        template_id: Its id (lowercase, dashes), unique among user templates.
        definition: The workflow definition with placeholders, as JSON.
        saved_by: Who saved it: its owner (only they or an admin replace or delete it).
    """

    model_config = _CONFIG

    type: Literal["template_saved"] = "template_saved"
    template_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,127}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    category: str | None = None
    tags: tuple[str, ...] = ()
    parameters: tuple[TemplateParameter, ...] = ()
    definition: dict[str, Any]
    saved_by: str | None = None
    saved_at: UtcDatetime

    @property
    def key(self) -> str:
        """The Kafka key of this record."""
        return template_key(self.template_id)


class TemplateDeleted(BaseModel):
    """A user template was deleted."""

    model_config = _CONFIG

    type: Literal["template_deleted"] = "template_deleted"
    template_id: str = Field(min_length=1)
    deleted_by: str | None = None
    deleted_at: UtcDatetime

    @property
    def key(self) -> str:
        """The Kafka key of this record."""
        return template_key(self.template_id)


TEMPLATE_EVENT_TYPES: tuple[type[BaseModel], ...] = (TemplateSaved, TemplateDeleted)
