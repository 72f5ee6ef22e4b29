"""headwater: the front door — CLI, settings and the wiring of the app."""

from headwater.settings import Settings

__all__ = ["Settings"]
