"""Write a release's golden records: ``python -m tests.schemas.golden.release v2``.

Run right after ``python -m schemas.avro.release v2`` (which snapshots the schemas into the
package): encodes one sample record per event type with today's codec, whose schemas are then
exactly the release's. Refuses to overwrite existing records.
"""

from __future__ import annotations

import sys

import orjson

from schemas.avro.release import incompatibilities, load_release
from schemas.codec import Codec
from schemas.registry import schema_fingerprint_id
from tests.schemas.golden import GOLDEN_DIR, all_event_models, sample_event


def release(version: str) -> None:
    """Write ``vN/records.json``; release ``version`` must exist and equal today's schemas."""
    released = load_release(version)
    codec = Codec(prefix="hw.")
    records = []
    for role, model in all_event_models():
        event = sample_event(model)
        value = codec.encode_value(f"hw.{role}", event)
        file = f"{role}-value.avsc"
        if int.from_bytes(value[1:5], "big") != schema_fingerprint_id(released.files[file]):
            raise SystemExit(f"today's {file} is not {version}'s: records must be written by it")
        records.append({"topic": role, "event": model.__name__,
                        "json": orjson.loads(event.model_dump_json()), "value_hex": value.hex()})
    assert not incompatibilities()
    target = GOLDEN_DIR / version
    target.mkdir(exist_ok=False)
    (target / "records.json").write_bytes(orjson.dumps(records, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"golden records of {version}: {len(records)} sample records")


if __name__ == "__main__":
    release(sys.argv[1])
