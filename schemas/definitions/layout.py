"""Where the visual designer draws each step: kept with the definition, ignored by the engine."""

from __future__ import annotations

from pydantic import Field

from schemas.definitions._common import Frozen, StepId

_FAR = 1e7  # a canvas coordinate beyond this is a bug in whatever wrote it


class NodePosition(Frozen):
    """A step's top-left corner on the canvas (inside its container, for nested steps), and
    the size of a container the user resized."""

    x: float = Field(ge=-_FAR, le=_FAR)
    y: float = Field(ge=-_FAR, le=_FAR)
    width: float | None = Field(default=None, gt=0, le=_FAR)
    height: float | None = Field(default=None, gt=0, le=_FAR)


class Viewport(Frozen):
    """The part of the canvas last shown."""

    x: float = Field(ge=-_FAR, le=_FAR)
    y: float = Field(ge=-_FAR, le=_FAR)
    zoom: float = Field(gt=0, le=100)


class Layout(Frozen):
    """The designer's drawing of a workflow. Steps without a position are placed by the
    automatic layout; positions of steps that no longer exist are ignored."""

    nodes: dict[StepId, NodePosition] = Field(default_factory=dict, max_length=100_000)
    viewport: Viewport | None = None
