"""Semantic versions and the ranges a subprocess step or a rule action names.

Ranges follow npm/Cargo spelling: `*`, `1.2.3` (exact), `^1.2` (same major), `~1.2`
(same minor), `1.x`, and comparators `>=1.0.0 <2.0.0` (space means and).
"""

from __future__ import annotations

import re

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_PARTIAL = re.compile(r"^(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$")
_COMPARATOR = re.compile(r"^(\^|~|>=|<=|>|<|=)?\s*(.+)$")

Version = tuple[int, int, int, tuple[int | str, ...] | None]


def parse_version(text: str) -> Version:
    """Parse `MAJOR.MINOR.PATCH[-pre][+build]` into a comparable key.

    Raises:
        ValueError: not a semantic version.
    """
    match = _VERSION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a semantic version")
    pre = match.group(4)
    pre_key = None if pre is None else tuple(int(p) if p.isdigit() else p for p in pre.split("."))
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), pre_key


def _order(version: Version) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    # A pre-release sorts before its release; numeric identifiers before alphanumeric.
    major, minor, patch, pre = version
    if pre is None:
        return major, minor, patch, 1, ()
    return major, minor, patch, 0, tuple((isinstance(p, str), p) for p in pre)


def _bounds(op: str, partial: str) -> list[tuple[str, tuple[int, int, int]]]:
    match = _PARTIAL.match(partial)
    if not match:
        raise ValueError(f"{partial!r} is not a version")
    nums = [None if g is None or g in "xX*" else int(g) for g in match.groups()]
    given = 0
    while given < 3 and nums[given] is not None:
        given += 1
    base = tuple(n or 0 for n in nums[:given]) + (0,) * (3 - given)
    low: tuple[int, int, int] = (base[0], base[1], base[2])
    if given < 3 and op in ("", "=", "~"):
        return _wildcard(low, given)
    if op == "~":
        return [(">=", low), ("<", (low[0], low[1] + 1, 0))]
    if op == "^":
        return _caret(low, given)
    return [(op or "=", low)]


def _wildcard(low: tuple[int, int, int], given: int) -> list[tuple[str, tuple[int, int, int]]]:
    if given == 0:
        return []
    high = (low[0] + 1, 0, 0) if given == 1 else (low[0], low[1] + 1, 0)
    return [(">=", low), ("<", high)]


def _caret(low: tuple[int, int, int], given: int) -> list[tuple[str, tuple[int, int, int]]]:
    major, minor, patch = low
    if major > 0 or given == 1:
        high = (major + 1, 0, 0)
    elif minor > 0 or given == 2:
        high = (0, minor + 1, 0)
    else:
        high = (0, 0, patch + 1)
    return [(">=", low), ("<", high)]


def parse_range(text: str) -> list[tuple[str, tuple[int, int, int]]]:
    """Parse a version range into `(operator, version)` comparators that must all hold.

    Raises:
        ValueError: not a version range.
    """
    text = text.strip()
    if not text:
        raise ValueError("a version range is empty")
    comparators: list[tuple[str, tuple[int, int, int]]] = []
    for part in re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", text).split():
        match = _COMPARATOR.match(part)
        if not match:
            raise ValueError(f"{part!r} is not a version comparator")
        comparators += _bounds(match.group(1) or "", match.group(2))
    return comparators


def version_matches(version: str, range_: str) -> bool:
    """Whether a version satisfies a range; pre-releases match only an exact range.

    Raises:
        ValueError: the version or the range does not parse.
    """
    parsed = parse_version(version)
    if parsed[3] is not None:
        return range_.strip().lstrip("=").strip() == version.strip()
    comparators = parse_range(range_)
    key = _order(parsed)
    for op, bound in comparators:
        other = _order((*bound, None))
        ok = {
            "=": key == other,
            ">=": key >= other,
            "<=": key <= other,
            ">": key > other,
            "<": key < other,
        }[op]
        if not ok:
            return False
    return True


def is_version_range(text: str) -> bool:
    """Whether `text` parses as a version range."""
    try:
        parse_range(text)
    except ValueError:
        return False
    return True
