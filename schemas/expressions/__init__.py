"""The one safe expression language of headwater: CEL.

CEL (the Common Expression Language of Kubernetes, Envoy and Firebase) is not Turing
complete, has no `eval`, and sees only the data it is given. Expressions are compiled once
and cached by source; evaluation is bounded by source size, nesting and input size.

Example:
    >>> compile_expression("input.amount > 100").evaluate({"input": {"amount": 250}})
    True
    >>> render_mapping({"to": "${ input.email }", "n": "${ size(input.items) }"},
    ...                {"input": {"email": "a@b.c", "items": [1, 2]}})
    {'to': 'a@b.c', 'n': 2}
"""

from schemas.expressions._cost import (
    COST_BUDGET,
    GUARANTEED_NODES,
    GUARANTEED_RANGE,
    GUARANTEED_TEXT,
    Shape,
)
from schemas.expressions._expression import (
    CONTEXT_NAMES,
    EXTENSION_FUNCTIONS,
    MAX_INPUT_BYTES,
    MAX_INPUT_NODES,
    MAX_MACRO_NESTING,
    MAX_NESTING,
    MAX_SOURCE_BYTES,
    Expression,
    ExpressionError,
    check_context,
    compile_expression,
    to_json,
)
from schemas.expressions._mapping import (
    CompiledMapping,
    compile_mapping,
    json_path_key,
    mapping_expressions,
    mapping_variables,
    render_mapping,
)
from schemas.expressions._regex import MAX_REGEX_CHARS, Matcher, compile_regex

__all__ = [
    "CONTEXT_NAMES",
    "COST_BUDGET",
    "EXTENSION_FUNCTIONS",
    "GUARANTEED_NODES",
    "GUARANTEED_RANGE",
    "GUARANTEED_TEXT",
    "MAX_INPUT_BYTES",
    "MAX_INPUT_NODES",
    "MAX_MACRO_NESTING",
    "MAX_NESTING",
    "MAX_REGEX_CHARS",
    "MAX_SOURCE_BYTES",
    "CompiledMapping",
    "Expression",
    "ExpressionError",
    "Matcher",
    "Shape",
    "check_context",
    "compile_expression",
    "compile_mapping",
    "compile_regex",
    "json_path_key",
    "mapping_expressions",
    "mapping_variables",
    "render_mapping",
    "to_json",
]
