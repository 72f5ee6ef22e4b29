"""The running engine: the Faust app, its agents and the pure workflow state machine."""

__all__ = ["AppConfig", "Engine", "EngineConfig", "create_app", "run_worker"]

_HOMES = {"AppConfig": "app", "create_app": "app", "run_worker": "app",
          "Engine": "engine", "EngineConfig": "engine"}


def __getattr__(name: str) -> object:
    # Lazy, so that importing the pure `streams.machine` never loads Kafka or Faust.
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"streams.{_HOMES[name]}"), name)
    raise AttributeError(name)
