"""Print the example workflows as the UI's template gallery (JSON), defaults left out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.validation import load_definition

ROOT = Path(__file__).resolve().parents[2]


def templates() -> list[dict[str, object]]:
    """Each ``examples/workflows/*.yaml`` as ``{"file", "definition"}``."""
    out = []
    for path in sorted((ROOT / "examples" / "workflows").glob("*.yaml")):
        definition = load_definition(path)
        body = definition.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        out.append({"file": f"examples/workflows/{path.name}",
                    "definition": {"kind": "workflow", **body}})
    return out


if __name__ == "__main__":
    sys.stdout.write(json.dumps(templates(), indent=1, ensure_ascii=False) + "\n")
