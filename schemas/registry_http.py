"""A Confluent Schema Registry over HTTP (Confluent's server, Apicurio's ``/apis/ccompat/v7``,
Redpanda's, Karapace...), implementing ``schemas.registry.SchemaRegistry``.

With ``HEADWATER_SCHEMA_REGISTRY_URL`` set, every default ``Codec()`` registers its schemas
there (subjects ``<topic>-key`` / ``<topic>-value``, Confluent's TopicNameStrategy), sets each
subject's compatibility to ``BACKWARD`` before its first registration, and writes the ids the
registry assigns. So any Confluent deserializer, Kafka Connect, ksqlDB or Flink reads the topics
with the same registry.

A registry that cannot be reached is not a bad record: calls raise ``SchemaRegistryError`` with
code ``REGISTRY_UNAVAILABLE`` and the codec lets it propagate (the agent stops and restarts)
instead of dead-lettering the record.
"""

from __future__ import annotations

import os
import threading
from functools import cache
from typing import Any, Literal
from urllib.parse import quote

import httpx

from schemas.registry import (
    Compatibility,
    InMemorySchemaRegistry,
    RegisteredSchema,
    SchemaRegistry,
    SchemaRegistryError,
)

__all__ = ["REGISTRY_UNAVAILABLE", "URL_VARIABLE", "ConfluentSchemaRegistry", "default_registry",
           "escape_braces_in_strings"]

URL_VARIABLE = "HEADWATER_SCHEMA_REGISTRY_URL"
REGISTRY_UNAVAILABLE = 50301
"""Our code for "no answer" (Confluent's own codes are all answers)."""

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class ConfluentSchemaRegistry:
    """The Confluent Schema Registry REST API, one method per endpoint (thread-safe).

    Args:
        url: The API's base URL, path included (e.g. ``http://host:8081`` for Confluent's
            server, ``http://host:8080/apis/ccompat/v7`` for Apicurio); user and password in
            the URL are sent as basic auth.
        compatibility: The level set on each subject before headwater first registers in it.
        timeout_s: Per request.
    """

    def __init__(self, url: str, *, compatibility: Compatibility = "BACKWARD",
                 timeout_s: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.compatibility = compatibility
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s,
                                  headers={"Accept": _CONTENT_TYPE, "Content-Type": _CONTENT_TYPE})
        self._lock = threading.Lock()
        self._configured: set[str] = set()
        self._schemas: dict[int, str] = {}

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise SchemaRegistryError(REGISTRY_UNAVAILABLE,
                                      f"schema registry {self.url} unreachable: {exc}") from None
        if response.status_code >= 400:
            try:
                detail = response.json()
                code, message = int(detail["error_code"]), str(detail.get("message", ""))
            except (ValueError, KeyError, TypeError):
                code, message = response.status_code, response.text[:200]
            raise SchemaRegistryError(code, f"{method} {path}: {message}")
        return response.json()

    @staticmethod
    def _subject(subject: str) -> str:
        return quote(subject, safe="")

    def set_compatibility(self, subject: str, level: Compatibility) -> None:
        """``PUT /config/{subject}``."""
        self._call("PUT", f"/config/{self._subject(subject)}", {"compatibility": level})

    def register(self, subject: str, schema: str) -> int:
        """``POST /subjects/{subject}/versions`` (after setting the subject's compatibility once).

        Raises:
            SchemaRegistryError: Incompatible (409), invalid (42201), or no answer.
        """
        with self._lock:
            configured = subject in self._configured
        if not configured:
            self.set_compatibility(subject, self.compatibility)
            with self._lock:
                self._configured.add(subject)
        answer = self._call("POST", f"/subjects/{self._subject(subject)}/versions",
                            {"schema": escape_braces_in_strings(schema), "schemaType": "AVRO"})
        schema_id = int(answer["id"])
        with self._lock:
            self._schemas.setdefault(schema_id, schema)
        return schema_id

    def lookup(self, subject: str, schema: str) -> RegisteredSchema:
        """``POST /subjects/{subject}``."""
        answer = self._call("POST", f"/subjects/{self._subject(subject)}",
                            {"schema": escape_braces_in_strings(schema), "schemaType": "AVRO"})
        return _registered(answer, subject)

    def get_schema(self, schema_id: int) -> str:
        """``GET /schemas/ids/{id}`` (cached: an id's schema never changes)."""
        with self._lock:
            known = self._schemas.get(schema_id)
        if known is not None:
            return known
        text = str(self._call("GET", f"/schemas/ids/{schema_id}")["schema"])
        with self._lock:
            self._schemas[schema_id] = text
        return text

    def get_version(self, subject: str, version: int | Literal["latest"]) -> RegisteredSchema:
        """``GET /subjects/{subject}/versions/{version}``."""
        answer = self._call("GET", f"/subjects/{self._subject(subject)}/versions/{version}")
        return _registered(answer, subject)

    def get_subjects(self) -> list[str]:
        """``GET /subjects``, sorted."""
        return sorted(self._call("GET", "/subjects"))

    def get_versions(self, subject: str) -> list[int]:
        """``GET /subjects/{subject}/versions``."""
        return sorted(int(v) for v in self._call("GET", f"/subjects/{self._subject(subject)}/versions"))

    def test_compatibility(self, subject: str, schema: str) -> bool:
        """``POST /compatibility/subjects/{subject}/versions/latest`` (True for a new subject)."""
        try:
            answer = self._call("POST", f"/compatibility/subjects/{self._subject(subject)}"
                                        "/versions/latest", {"schema": escape_braces_in_strings(schema),
                                                         "schemaType": "AVRO"})
        except SchemaRegistryError as exc:
            if exc.error_code in (40401, 40402):
                return True
            raise
        return bool(answer["is_compatible"])

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()


def _registered(answer: dict[str, Any], subject: str) -> RegisteredSchema:
    return RegisteredSchema(str(answer.get("subject", subject)), int(answer["version"]),
                            int(answer["id"]), str(answer["schema"]))


@cache
def _shared(url: str) -> ConfluentSchemaRegistry:
    return ConfluentSchemaRegistry(url)


def default_registry() -> SchemaRegistry:
    """The registry of ``$HEADWATER_SCHEMA_REGISTRY_URL`` (one client per URL per process), or
    else a new ``InMemorySchemaRegistry`` (fingerprint ids, nothing shared)."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    return _shared(url) if url else InMemorySchemaRegistry()


def escape_braces_in_strings(text: str) -> str:
    """``text`` (JSON) with every ``{`` and ``}`` inside a string written as ``\\u007b`` and
    ``\\u007d``: the same JSON, but Apicurio Registry 3.x (ccompat) refuses an Avro schema with
    a string default of exactly ``"{}"`` ("Failed to discover artifact type from content.",
    error 42201) and accepts it escaped."""
    out: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            elif char in "{}":
                out.append("\\u007b" if char == "{" else "\\u007d")
                continue
        elif char == '"':
            in_string = True
        out.append(char)
    return "".join(out)
