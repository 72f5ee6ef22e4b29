"""The user templates view from ``hw.definitions``: ``tpl/<id>`` holds each saved template.

A save older than what the view holds (a redelivery) changes nothing; a deletion removes the
record and leaves ``tpldel/<id>`` with its time, so an older save met later stays deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from pydantic import BaseModel

from projections.views._tx import Reader, ScanReader, Tx
from schemas.template_events import TemplateDeleted, TemplateSaved

__all__ = ["Deleted", "apply_template_event", "page_templates", "read_template"]

_RECORD = "tpl/"
_DELETED = "tpldel/"


class Deleted(BaseModel):
    """When a template was deleted."""

    at: datetime


def apply_template_event(tx: Tx, event: TemplateSaved | TemplateDeleted) -> bool:
    """Fold one template event; True when the view changed."""
    key = _RECORD + event.template_id
    current = tx.load(key, TemplateSaved)
    gone = tx.load(_DELETED + event.template_id, Deleted)
    if isinstance(event, TemplateDeleted):
        if gone is not None and gone.at >= event.deleted_at:
            return False
        if current is not None and current.saved_at > event.deleted_at:
            return False  # saved again after this deletion
        tx.delete(key)
        tx.save(_DELETED + event.template_id, Deleted(at=event.deleted_at))
        return True
    if (current is not None and current.saved_at > event.saved_at) or (
            gone is not None and gone.at >= event.saved_at):
        return False
    tx.save(key, event)
    return True


def read_template(reader: Reader, template_id: str) -> TemplateSaved | None:
    """One user template, or None."""
    data = reader.get(_RECORD + template_id)
    return None if data is None else TemplateSaved.model_validate_json(data)


def page_templates(reader: ScanReader, *, after: str | None = None,
                   keep: Callable[[TemplateSaved], bool] = lambda _: True,
                   ) -> Iterator[TemplateSaved]:
    """The user templates ``keep`` accepts, by id, after ``after``, read as they are taken
    (the caller stops at its page size)."""
    start = None if after is None else _RECORD + after
    for _, value in reader.scan(_RECORD, start_after=start):
        template = TemplateSaved.model_validate_json(value)
        if keep(template):
            yield template
