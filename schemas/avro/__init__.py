"""Avro for headwater's topics: the type mapping, the schema generator and the converters.

The committed ``*.avsc`` files in this folder are generated from the event models (see
``schemas.avro.catalogue`` and ``python -m schemas.avro.catalogue``); ``docs/events.md``
explains the wire format and the evolution rules.
"""

from schemas.avro._convert import ModelDecoder, ModelEncoder, model_decoder, model_encoder
from schemas.avro._generate import NO_DEFAULT, avro_default, union_schema
from schemas.avro._types import UnsupportedType, UtcDatetime, classify

__all__ = [
    "NO_DEFAULT",
    "ModelDecoder",
    "ModelEncoder",
    "UnsupportedType",
    "UtcDatetime",
    "avro_default",
    "classify",
    "model_decoder",
    "model_encoder",
    "union_schema",
]
