"""Cut a golden release: ``python -m tests.schemas.golden.release v2``.

Copies today's generated ``.avsc`` files into ``tests/schemas/golden/<version>/`` and writes
one encoded sample record per event type. Refuses to overwrite a released version.
"""

from __future__ import annotations

import sys

import orjson

from schemas.avro.catalogue import AVSC_DIR, generate_files
from schemas.codec import Codec
from tests.schemas.golden import GOLDEN_DIR, all_event_models, sample_event


def release(version: str) -> None:
    """Write the golden copies of ``version``; it must not exist yet."""
    target = GOLDEN_DIR / version
    target.mkdir(exist_ok=False)
    for name, text in generate_files().items():
        if (AVSC_DIR / name).read_text() != text:
            raise SystemExit(f"{name} is out of date: run python -m schemas.avro.catalogue first")
        (target / name).write_text(text)
    codec = Codec(prefix="hw.")
    records = []
    for role, model in all_event_models():
        event = sample_event(model)
        records.append({
            "topic": role,
            "event": model.__name__,
            "json": orjson.loads(event.model_dump_json()),
            "value_hex": codec.encode_value(f"hw.{role}", event).hex(),
        })
    (target / "records.json").write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"released {version}: {len(records)} sample records")


if __name__ == "__main__":
    release(sys.argv[1])
