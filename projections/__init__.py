"""Projections of the event log into views, and the HTTP API and web UI over them."""

from projections.api import create_api

__all__ = ["create_api"]
