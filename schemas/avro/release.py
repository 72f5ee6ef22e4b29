"""Released schemas: append-only snapshots of every topic's schemas, readable forever.

``schemas/avro/releases/vN/`` holds, for release N, each topic role's key and value schema
exactly as that release wrote them, and ``manifest.json``: per file its schema id (the
fingerprint id of ``schemas.registry.schema_fingerprint_id``, which is what the release's
records carry in their header) and the SHA-256 of its text. A release is never edited; a test
compares every file with its manifest.

The codec reads a record by the id in its header: today's schemas, then any released schema
(``known_schema``), then the registry. So a build can read every record any earlier release
wrote, through Avro schema resolution to today's models.

The current (unreleased) schemas may change between releases as long as they stay BACKWARD
compatible with every release (a test checks it). Cutting a release is deliberate:

    python -m schemas.avro.release v2

which refuses when the committed ``.avsc`` files drift from the models, when the version is
not the next one, when nothing changed since the latest release, or when today's schemas
could not read a release's data.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from fastavro import parse_schema

from schemas.avro._compat import problems
from schemas.avro.catalogue import AVSC_DIR, generate_files
from schemas.registry import schema_fingerprint_id

__all__ = [
    "RELEASES_DIR",
    "Release",
    "ReleaseRefused",
    "cut_release",
    "known_schema",
    "load_release",
    "main",
    "released_versions",
]

RELEASES_DIR = AVSC_DIR / "releases"
MANIFEST = "manifest.json"


class ReleaseRefused(Exception):
    """A release cannot be cut; the message says why and what to do."""


@dataclass(frozen=True)
class Release:
    """One released version: file name -> schema text, and its manifest entries.

    Attributes:
        version: ``"v1"``, ``"v2"``, ...
        files: ``<role>-key.avsc`` / ``<role>-value.avsc`` -> the schema's JSON text.
        manifest: file name -> ``{"id": int, "sha256": str}`` as recorded at release time.
    """

    version: str
    files: dict[str, str]
    manifest: dict[str, dict[str, Any]]

    def schema(self, file: str) -> Any:
        """A released schema as JSON data."""
        return orjson.loads(self.files[file])


def _number(version: str) -> int:
    if not (version.startswith("v") and version[1:].isdigit() and int(version[1:]) > 0):
        raise ReleaseRefused(f"a release is named v1, v2, ...; not {version!r}")
    return int(version[1:])


def released_versions() -> list[str]:
    """The released versions, oldest first (``["v1", ...]``)."""
    if not RELEASES_DIR.is_dir():
        return []
    found = [p.name for p in RELEASES_DIR.iterdir() if (p / MANIFEST).is_file()]
    return sorted(found, key=_number)


def load_release(version: str) -> Release:
    """The files and manifest of one release, as committed."""
    folder = RELEASES_DIR / version
    manifest = orjson.loads((folder / MANIFEST).read_bytes())["schemas"]
    files = {name: (folder / name).read_text() for name in manifest}
    return Release(version, files, manifest)


@cache
def _known() -> dict[int, str]:
    """Schema id -> schema text, for every released schema and today's."""
    known: dict[int, str] = {}
    for version in released_versions():
        for text in load_release(version).files.values():
            known[schema_fingerprint_id(text)] = text
    for name in generate_files():
        text = (AVSC_DIR / name).read_text()
        known.setdefault(schema_fingerprint_id(text), text)
    return known


@cache
def known_schema(schema_id: int) -> Any | None:
    """The parsed schema a released (or today's) build wrote under ``schema_id``, or None.

    These ids are fingerprints (31 bits of a SHA-256), so they cannot be mistaken for another
    registry's small sequential ids in practice; the codec asks its registry only for ids
    that are none of these.
    """
    text = _known().get(schema_id)
    return None if text is None else parse_schema(orjson.loads(text))


def _manifest_entry(text: str) -> dict[str, Any]:
    return {"id": schema_fingerprint_id(text), "sha256": hashlib.sha256(text.encode()).hexdigest()}


def cut_release(version: str) -> Release:
    """Snapshot today's committed schemas as release ``version``.

    Raises:
        ReleaseRefused: The version exists or is not the next one, the committed ``.avsc``
            files drift from the models, nothing changed since the latest release, or
            today's schemas cannot read a release's data (an incompatible change).
    """
    number = _number(version)
    versions = released_versions()
    expected = _number(versions[-1]) + 1 if versions else 1
    if number != expected:
        raise ReleaseRefused(f"the next release is v{expected}, not {version}")
    generated = generate_files()
    drifted = [n for n, text in generated.items() if (AVSC_DIR / n).read_text() != text]
    if drifted:
        raise ReleaseRefused(f"{', '.join(drifted)} out of date: run python -m schemas.avro.catalogue")
    manifest = {name: _manifest_entry(text) for name, text in sorted(generated.items())}
    if versions:
        latest = load_release(versions[-1])
        if {n: e["id"] for n, e in manifest.items()} == {n: e["id"] for n, e in latest.manifest.items()}:
            raise ReleaseRefused(f"nothing changed since {latest.version}: no release needed")
    faults = incompatibilities(generated)
    if faults:
        raise ReleaseRefused("today's schemas cannot read released data:\n  " + "\n  ".join(faults))
    folder = RELEASES_DIR / version
    folder.mkdir(parents=True)
    for name, text in generated.items():
        (folder / name).write_text(text)
    body = {"version": version, "schemas": manifest}
    (folder / MANIFEST).write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")
    _known.cache_clear()
    known_schema.cache_clear()
    return load_release(version)


def incompatibilities(current: dict[str, str] | None = None) -> list[str]:
    """Why today's schemas (or ``current``: file -> text) could not read some release's data."""
    files = current if current is not None else {n: (AVSC_DIR / n).read_text() for n in generate_files()}
    faults = []
    for version in released_versions():
        release = load_release(version)
        for name in release.files:
            if name not in files:
                faults.append(f"{version} {name}: the topic role no longer exists")
                continue
            for problem in problems(orjson.loads(files[name]), release.schema(name)):
                faults.append(f"{version} {name}: {problem}")
    return faults


def main(argv: list[str] | None = None) -> int:
    """``python -m schemas.avro.release vN``: cut release vN (exit 2 with the reason if refused)."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m schemas.avro.release vN", file=sys.stderr)
        return 2
    try:
        release = cut_release(args[0])
    except ReleaseRefused as exc:
        print(f"release refused: {exc}", file=sys.stderr)
        return 2
    print(f"released {release.version}: {len(release.files)} schema files in "
          f"{Path(RELEASES_DIR / release.version).relative_to(AVSC_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
