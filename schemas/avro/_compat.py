"""Schema-level compatibility, per the Avro specification's schema resolution rules.

``problems(reader, writer)`` lists why data written with ``writer`` could not be read with
``reader`` (empty when it can). This is the check a schema registry runs before accepting a
new version; the golden tests also check it on data with fastavro's own resolution.
"""

from __future__ import annotations

from typing import Any

from fastavro.schema import expand_schema, parse_schema

__all__ = ["problems"]

_PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}
_NAMED = ("record", "enum", "fixed")


def problems(reader: Any, writer: Any) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader``; empty if it can.

    Args:
        reader: The reader's schema (JSON data).
        writer: The writer's schema (JSON data).
    """
    found: list[str] = []
    _check(_expand(reader), _expand(writer), "$", found)
    return found


def _expand(schema: Any) -> Any:
    return expand_schema(parse_schema(schema, _write_hint=False))


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"]) if isinstance(schema["type"], str) else _kind(schema["type"])
    return str(schema)


def _check(reader: Any, writer: Any, path: str, found: list[str]) -> None:
    if isinstance(writer, list):
        for branch in writer:  # every branch the writer may pick must be readable
            if not _readable(reader, branch):
                found.append(f"{path}: writer branch {_label(branch)} has no reader branch")
            elif not isinstance(reader, list):
                _check(reader, branch, path, found)
            else:
                _check(_match(reader, branch), branch, path, found)
        return
    if isinstance(reader, list):
        match = _match(reader, writer)
        if match is None:
            found.append(f"{path}: no reader branch for {_label(writer)}")
        else:
            _check(match, writer, path, found)
        return
    _check_same_kind(reader, writer, path, found)


def _check_same_kind(reader: Any, writer: Any, path: str, found: list[str]) -> None:
    rk, wk = _kind(reader), _kind(writer)
    if not _compatible_kinds(rk, wk):
        found.append(f"{path}: writer {wk} cannot be read as {rk}")
    elif rk in _NAMED and _name(reader) != _name(writer) and _name(writer) not in _aliases(reader):
        found.append(f"{path}: writer {_name(writer)} cannot be read as {_name(reader)}")
    elif rk == "record":
        _check_record(reader, writer, path, found)
    elif rk == "enum":
        missing = set(writer["symbols"]) - set(reader["symbols"])
        if missing and "default" not in reader:
            found.append(f"{path}: reader enum lacks symbols {sorted(missing)}")
    elif rk == "fixed" and reader["size"] != writer["size"]:
        found.append(f"{path}: fixed sizes differ")
    elif rk == "array":
        _check(reader["items"], writer["items"], f"{path}[]", found)
    elif rk == "map":
        _check(reader["values"], writer["values"], f"{path}{{}}", found)


def _check_record(reader: Any, writer: Any, path: str, found: list[str]) -> None:
    written = {f["name"]: f for f in writer["fields"]}
    for field in reader["fields"]:
        names = [field["name"], *field.get("aliases", [])]
        source = next((written[n] for n in names if n in written), None)
        where = f"{path}.{_name(reader).rsplit('.', 1)[-1]}.{field['name']}"
        if source is not None:
            _check(field["type"], source["type"], where, found)
        elif "default" not in field:
            found.append(f"{where}: new field without a default")


def _readable(reader: Any, writer: Any) -> bool:
    if isinstance(reader, list):
        return _match(reader, writer) is not None
    return _shallow_match(reader, writer)


def _match(reader_union: list[Any], writer: Any) -> Any:
    exact = [r for r in reader_union if _shallow_match(r, writer) and _kind(r) == _kind(writer)]
    loose = [r for r in reader_union if _shallow_match(r, writer)]
    return (exact or loose or [None])[0]


def _shallow_match(reader: Any, writer: Any) -> bool:
    rk, wk = _kind(reader), _kind(writer)
    if not _compatible_kinds(rk, wk):
        return False
    if rk in _NAMED:
        return _name(reader) == _name(writer) or _name(writer) in _aliases(reader)
    return True


def _compatible_kinds(reader_kind: str, writer_kind: str) -> bool:
    return reader_kind == writer_kind or reader_kind in _PROMOTIONS.get(writer_kind, set())


def _name(schema: Any) -> str:
    return str(schema["name"]) if isinstance(schema, dict) and "name" in schema else _kind(schema)


def _aliases(schema: Any) -> list[str]:
    return list(schema.get("aliases", [])) if isinstance(schema, dict) else []


def _label(schema: Any) -> str:
    return _name(schema) if _kind(schema) in _NAMED else _kind(schema)
