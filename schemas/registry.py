"""Schema registry: the interface the codec needs, and an in-process implementation.

The ``SchemaRegistry`` protocol follows the Confluent Schema Registry REST API one method per
endpoint, so that an HTTP client can implement it later without the codec changing:

==============================  =============================================
method                          Confluent endpoint
==============================  =============================================
``register(subject, schema)``   ``POST /subjects/{subject}/versions``
``lookup(subject, schema)``     ``POST /subjects/{subject}``
``get_schema(schema_id)``       ``GET /schemas/ids/{id}``
``get_version(subject, v)``     ``GET /subjects/{subject}/versions/{v|latest}``
``get_subjects()``              ``GET /subjects``
``get_versions(subject)``       ``GET /subjects/{subject}/versions``
``test_compatibility(...)``     ``POST /compatibility/subjects/{subject}/versions/latest``
==============================  =============================================

Subjects follow Confluent's default TopicNameStrategy: ``<topic>-key`` and ``<topic>-value``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson
from fastavro.schema import SchemaParseException, parse_schema, to_parsing_canonical_form

from schemas.avro._compat import problems

__all__ = [
    "Compatibility",
    "InMemorySchemaRegistry",
    "RegisteredSchema",
    "SchemaRegistry",
    "SchemaRegistryError",
    "schema_fingerprint_id",
    "subject_name",
]

Compatibility = Literal["NONE", "BACKWARD", "FORWARD", "FULL"]

# Confluent's error codes, so callers can treat both implementations alike.
SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
INCOMPATIBLE_SCHEMA = 409
INVALID_SCHEMA = 42201


class SchemaRegistryError(Exception):
    """A registry call failed; ``error_code`` is the Confluent error code."""

    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class RegisteredSchema:
    """One version of a subject, as ``GET /subjects/{subject}/versions/{v}`` returns it.

    Attributes:
        subject: e.g. ``"hw.executions-value"``.
        version: 1, 2, ... within the subject.
        schema_id: The global id written in every record's header.
        schema: The schema's JSON text.
    """

    subject: str
    version: int
    schema_id: int
    schema: str


class SchemaRegistry(Protocol):
    """What the codec needs from a schema registry (see the module docstring)."""

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` under ``subject`` if new; return its id either way."""
        ...

    def lookup(self, subject: str, schema: str) -> RegisteredSchema:
        """The registered version of ``schema`` under ``subject``."""
        ...

    def get_schema(self, schema_id: int) -> str:
        """The schema text with this id."""
        ...

    def get_version(self, subject: str, version: int | Literal["latest"]) -> RegisteredSchema:
        """One version of a subject."""
        ...

    def get_subjects(self) -> list[str]:
        """All subjects."""
        ...

    def get_versions(self, subject: str) -> list[int]:
        """The versions of a subject, ascending."""
        ...

    def test_compatibility(self, subject: str, schema: str) -> bool:
        """Whether ``schema`` may become the subject's next version."""
        ...


def subject_name(topic: str, *, is_key: bool) -> str:
    """The subject of a topic's key or value schema (Confluent's TopicNameStrategy)."""
    return f"{topic}-{'key' if is_key else 'value'}"


def schema_fingerprint_id(schema: str) -> int:
    """A positive 31-bit id derived from the schema's Parsing Canonical Form.

    Every process computes the same id for the same schema without talking to anyone, so
    in-process registries in different workers agree on the ids they write. Docs, defaults
    and aliases are not part of the canonical form: schemas differing only there write the
    same bytes, so sharing an id is exactly right.
    """
    canonical = to_parsing_canonical_form(_parse(schema))
    digest = hashlib.sha256(canonical.encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


def _parse(schema: str) -> Any:
    try:
        return parse_schema(orjson.loads(schema), _write_hint=False)
    except (orjson.JSONDecodeError, SchemaParseException, KeyError, TypeError, ValueError) as exc:
        raise SchemaRegistryError(INVALID_SCHEMA, f"invalid Avro schema: {exc}") from None


class InMemorySchemaRegistry:
    """A schema registry held in memory, with fingerprint ids (see ``schema_fingerprint_id``).

    Thread-safe. New versions of a subject are checked against the latest one under the
    registry's compatibility level (Confluent's default, ``BACKWARD``, unless told otherwise).
    Nothing is persisted: a process knows the schemas it registered, which with fingerprint
    ids includes every schema of its own build, but not older versions; reading data written
    by an older build after an incompatible upgrade needs a shared (Confluent) registry.
    """

    def __init__(self, compatibility: Compatibility = "BACKWARD") -> None:
        self.compatibility = compatibility
        self._lock = threading.Lock()
        self._by_id: dict[int, str] = {}
        self._canonical: dict[int, str] = {}
        self._subjects: dict[str, list[int]] = {}

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` under ``subject`` if new; return its id either way.

        Raises:
            SchemaRegistryError: The schema is invalid (42201), collides with another
                schema's id, or is incompatible with the subject's latest version (409).
        """
        schema_id = self._id_for(schema)
        with self._lock:
            versions = self._subjects.setdefault(subject, [])
            if schema_id in versions:
                return schema_id
            if versions and not self._compatible(self._by_id[versions[-1]], schema):
                raise SchemaRegistryError(
                    INCOMPATIBLE_SCHEMA,
                    f"schema is not {self.compatibility} compatible "
                    f"with the latest version of {subject}",
                )
            self._by_id.setdefault(schema_id, schema)
            versions.append(schema_id)
            return schema_id

    def _id_for(self, schema: str) -> int:
        schema_id = schema_fingerprint_id(schema)
        canonical = to_parsing_canonical_form(_parse(schema))
        with self._lock:
            known = self._canonical.setdefault(schema_id, canonical)
        if known != canonical:
            raise SchemaRegistryError(INVALID_SCHEMA, f"schema id {schema_id} collides")
        return schema_id

    def _compatible(self, latest: str, candidate: str) -> bool:
        old, new = orjson.loads(latest), orjson.loads(candidate)
        backward = self.compatibility in ("BACKWARD", "FULL")
        forward = self.compatibility in ("FORWARD", "FULL")
        return not (backward and problems(new, old)) and not (forward and problems(old, new))

    def lookup(self, subject: str, schema: str) -> RegisteredSchema:
        """The registered version of ``schema`` under ``subject``.

        Raises:
            SchemaRegistryError: Unknown subject (40401) or schema not under it (40403).
        """
        schema_id = schema_fingerprint_id(schema)
        versions = self._versions(subject)
        if schema_id not in versions:
            raise SchemaRegistryError(SCHEMA_NOT_FOUND, f"schema not registered under {subject}")
        return RegisteredSchema(
            subject, versions.index(schema_id) + 1, schema_id, self._by_id[schema_id]
        )

    def get_schema(self, schema_id: int) -> str:
        """The schema text with this id.

        Raises:
            SchemaRegistryError: No schema has this id (40403).
        """
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise SchemaRegistryError(SCHEMA_NOT_FOUND, f"schema {schema_id} not found") from None

    def get_version(self, subject: str, version: int | Literal["latest"]) -> RegisteredSchema:
        """One version of a subject (1-based, or ``"latest"``).

        Raises:
            SchemaRegistryError: Unknown subject (40401) or version (40402).
        """
        versions = self._versions(subject)
        number = len(versions) if version == "latest" else version
        if not 1 <= number <= len(versions):
            raise SchemaRegistryError(VERSION_NOT_FOUND, f"{subject} has no version {version}")
        schema_id = versions[number - 1]
        return RegisteredSchema(subject, number, schema_id, self._by_id[schema_id])

    def get_subjects(self) -> list[str]:
        """All subjects, sorted."""
        with self._lock:
            return sorted(self._subjects)

    def get_versions(self, subject: str) -> list[int]:
        """The versions of a subject, ascending."""
        return list(range(1, len(self._versions(subject)) + 1))

    def test_compatibility(self, subject: str, schema: str) -> bool:
        """Whether ``schema`` may become the subject's next version (True for a new subject)."""
        _parse(schema)
        with self._lock:
            versions = list(self._subjects.get(subject, []))
        return not versions or self._compatible(self._by_id[versions[-1]], schema)

    def _versions(self, subject: str) -> list[int]:
        with self._lock:
            versions = self._subjects.get(subject)
            if versions is None:
                raise SchemaRegistryError(SUBJECT_NOT_FOUND, f"subject {subject} not found")
            return list(versions)
