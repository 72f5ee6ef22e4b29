"""Building events from values the core itself produced, without re-validating them.

Pydantic validation costs several microseconds per event and `model_construct`
costs more (it walks aliases field by field); a `decide` call emits a handful of
events, so together they were a third of the core's time. Every value the core
puts in an event is already valid: times come from a validated command, ids are
derived, rendered values are JSON from `schemas.expressions.to_json`, lists and
objects are checked before they are emitted. The driver in
``tests/streams/machine`` re-validates every event the core emits, so a field the
core gets wrong still fails a test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from schemas.executions import ExecutionEventBase

__all__ = ["build_event"]

E = TypeVar("E", bound=ExecutionEventBase)

_set = object.__setattr__


class _Missing:
    """Marks a required field no value was given for (an invalid event)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()

_Template = tuple[dict[str, Any], tuple[tuple[str, Callable[[], Any]], ...]]
_TEMPLATES: dict[type[Any], _Template] = {}


def _template(cls: type[ExecutionEventBase]) -> _Template:
    values: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    for name, field in cls.model_fields.items():
        if field.default_factory is not None:
            values[name] = MISSING
            factories.append((name, field.default_factory))  # type: ignore[arg-type]
        elif field.is_required():
            values[name] = MISSING
        else:
            values[name] = field.default
    template = (values, tuple(factories))
    _TEMPLATES[cls] = template
    return template


def build_event(cls: type[E], fields: dict[str, Any]) -> E:
    """An event of type ``cls`` holding ``fields`` (plus defaults), not validated.

    The result equals ``cls(**fields)`` whenever that validates and changes nothing
    (no coercion): same field values, same field order, same ``model_fields_set``.
    """
    values, factories = _TEMPLATES.get(cls) or _template(cls)
    data = values.copy()  # the template holds every field in order; update keeps it
    data.update(fields)
    if factories:
        for name, factory in factories:
            if name not in fields:
                data[name] = factory()
    event = cls.__new__(cls)
    _set(event, "__dict__", data)
    _set(event, "__pydantic_fields_set__", set(fields))
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event
