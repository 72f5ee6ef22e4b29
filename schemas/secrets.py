"""Secret references: ``{{ secrets.NAME }}`` in a definition, resolved only by the worker.

A definition names a secret; its value lives with the workers (settings) and is put in at the
last moment, into the request an HTTP step sends. It is never in a definition, an event, a
task, a view or a log line. Only references written literally in the definition's ``with`` are
resolved, at the place they are written: a reference arriving in event data (``${ input.x }``
rendering to ``{{ secrets.DB_PASSWORD }}``) stays text, so a trigger cannot exfiltrate secrets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "SECRET_REFERENCE",
    "Path",
    "malformed_references",
    "redact",
    "substitute",
    "template_references",
]

SECRET_REFERENCE = re.compile(r"\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]{0,127})\s*\}\}")
_LOOSE = re.compile(r"\{\{\s*secrets\b[^}]*\}\}")
REDACTED = "***"

Path = tuple[str | int, ...]


def _strings(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def malformed_references(value: Any) -> Iterator[tuple[Path, str]]:
    """(path, text) of every ``{{ secrets… }}`` that is not a valid reference."""
    for path, text in _strings(value):
        for match in _LOOSE.finditer(text):
            if not SECRET_REFERENCE.fullmatch(match.group(0)):
                yield path, match.group(0)


def template_references(template: Any) -> dict[Path, frozenset[str]]:
    """Where a ``with`` template references secrets literally: path -> secret names."""
    found: dict[Path, frozenset[str]] = {}
    for path, text in _strings(template):
        names = frozenset(SECRET_REFERENCE.findall(text))
        if names:
            found[path] = names
    return found


def substitute(
    rendered: Any, where: dict[Path, frozenset[str]], lookup: Callable[[str], str]
) -> tuple[Any, set[str]]:
    """`rendered` with the references of `where` replaced by `lookup(name)`.

    Returns:
        The new value and the secret values put in (for `redact`). `lookup` raises for an
        unknown name; the value passed in is never changed.
    """
    used: set[str] = set()

    def walk(value: Any, path: Path) -> Any:
        if isinstance(value, str):
            names = where.get(path)
            return (
                value
                if not names
                else SECRET_REFERENCE.sub(lambda m: _put(m, names, lookup, used), value)
            )
        if isinstance(value, dict):
            return {key: walk(item, (*path, str(key))) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*path, i)) for i, item in enumerate(value)]
        return value

    return walk(rendered, ()), used


def _put(
    match: re.Match[str], names: frozenset[str], lookup: Callable[[str], str], used: set[str]
) -> str:
    name = match.group(1)
    if name not in names:
        return match.group(0)
    secret = lookup(name)
    used.add(secret)
    return secret


def redact(value: Any, secrets: set[str]) -> Any:
    """`value` with every occurrence of the given secret values replaced by ``***``."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item, secrets) for item in value]
    return value
