"""Projections of the event log into views, and the HTTP API and web UI over them."""

from projections.api import create_api
from projections.projector import SOURCE_ROLES, PartitionLag, Projector
from projections.store import MemoryStore, RocksStore, ViewStore

__all__ = ["SOURCE_ROLES", "MemoryStore", "PartitionLag", "Projector", "RocksStore", "ViewStore",
           "create_api"]
