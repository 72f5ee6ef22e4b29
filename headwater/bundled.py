"""Where the files that ship with headwater are, in a source checkout and after a wheel install.

A checkout (or an editable install) has ``examples/`` and ``bench/`` beside the packages. A
wheel installs ``bench`` as a package and the examples as data files under
``<prefix>/share/headwater/examples`` (pyproject.toml, ``[tool.setuptools.data-files]``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

__all__ = ["bench_dir", "example_places", "examples_dir"]


def example_places() -> list[Path]:
    """Where the bundled examples are looked for, in order."""
    return [Path(__file__).resolve().parents[1] / "examples",
            Path(sys.prefix) / "share" / "headwater" / "examples"]


def examples_dir() -> Path | None:
    """The bundled examples folder, or None when this install has none."""
    return next((p for p in example_places() if (p / "workflows").is_dir()), None)


def bench_dir() -> Path | None:
    """The benchmark scripts (the ``bench`` package), or None when not installed."""
    spec = importlib.util.find_spec("bench")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))
