"""Kafka plumbing that knows neither side of the engine: the outbox and its acks, dead letters,
the definitions feed, RocksDB opening, and the record a handler asks to produce.

Dependency rule: `streams.runtime` imports `streams.machine` and `schemas` only, never
`streams.executions`, `streams.triggers` or `streams.workers`.
"""
