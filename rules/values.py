"""JSON values as conditions see them: paths into events, and typed equality.

JSON has one number type and booleans apart from it, so `5 == 5.0` but `true != 1` and
`"5" != 5`; Python's `==` and `hash` disagree on the booleans, hence `equality_key`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Getter = Callable[[Any], Any]

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
"""What a getter returns when the path is not in the event."""


def path_getter(parts: tuple[str, ...]) -> Getter:
    """A function reading nested object members; `MISSING` where one is absent or no object."""
    if not parts:
        return lambda doc: doc
    if len(parts) == 1:
        (name,) = parts
        return lambda doc: doc.get(name, MISSING) if type(doc) is dict else MISSING
    if len(parts) == 2:
        first, second = parts

        def get2(doc: Any) -> Any:
            inner = doc.get(first) if type(doc) is dict else None
            return inner.get(second, MISSING) if type(inner) is dict else MISSING

        return get2

    def get(doc: Any) -> Any:
        for part in parts:
            if type(doc) is not dict:
                return MISSING
            doc = doc.get(part, MISSING)
        return doc

    return get


_UNHASHABLE: Any = object()
_TRUE_KEY = ("$bool", True)
_FALSE_KEY = ("$bool", False)
_NULL_KEY = ("$null",)


def equality_key(value: Any) -> Any:
    """The hash key under which JSON equality holds: `5 == 5.0`, `True != 1`, `"5" != 5`.

    Returns a sentinel that equals nothing for lists, objects and other unhashable values.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float:
        return value
    if kind is bool:
        return _TRUE_KEY if value else _FALSE_KEY
    if value is None:
        return _NULL_KEY
    return _UNHASHABLE


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON means it: numbers by value, booleans apart from numbers."""
    ka, kb = equality_key(a), equality_key(b)
    if ka is not _UNHASHABLE or kb is not _UNHASHABLE:
        return bool(ka == kb) and ka is not _UNHASHABLE and kb is not _UNHASHABLE
    if type(a) is list and type(b) is list:
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict and type(b) is dict:
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return False
