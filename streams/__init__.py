"""The running engine: the Faust app, its agents and the pure workflow state machine."""

__all__ = ["AppConfig", "create_app", "run_worker"]


def __getattr__(name: str) -> object:
    # Lazy, so that importing the pure `streams.machine` never loads Faust.
    if name in __all__:
        from streams import app

        return getattr(app, name)
    raise AttributeError(name)
