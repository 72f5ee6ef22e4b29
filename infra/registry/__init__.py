"""A real schema registry for development and tests: Apicurio Registry, fetched from Maven
Central, serving the Confluent Schema Registry API under ``/apis/ccompat/v7`` (in memory)."""

from infra.registry.apicurio import (
    APICURIO_VERSIONS,
    ApicurioDistribution,
    LocalRegistry,
    RegistrySetupError,
    fetch_apicurio,
)

__all__ = [
    "APICURIO_VERSIONS",
    "ApicurioDistribution",
    "LocalRegistry",
    "RegistrySetupError",
    "fetch_apicurio",
]
