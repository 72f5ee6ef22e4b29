"""A lexical scan of CEL source: enough to bound it and to see what it reads.

The CEL library reports only the top-level names an expression reads. Validation needs a
little more (which ``vars.x`` and ``steps.y`` it reads, which names are bound by macros, how
deeply it nests), and a token scan gives that without a second parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    | (?P<string>[rRbB]{0,2}(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''
                  |"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?|0[xX][0-9a-fA-F]+[uU]?)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>\S)
    """,
    re.VERBOSE | re.DOTALL,
)

# Macros that bind a loop variable as their first argument: `list.map(x, x * 2)`.
_BINDING_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_OPEN = frozenset("([{")
_CLOSE = frozenset(")]}")


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind (`string`, `number`, `ident`, `punct`) and text."""

    kind: str
    text: str


def tokenize(source: str) -> list[Token]:
    """Split CEL source into tokens, dropping whitespace.

    Unterminated strings degrade to punctuation; the CEL compiler reports those properly.
    """
    tokens: list[Token] = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "punct"
        if kind != "space":
            tokens.append(Token(kind, match.group()))
    return tokens


def nesting_depth(tokens: list[Token]) -> int:
    """Deepest bracket nesting, counting `(`, `[` and `{` alike."""
    depth = deepest = 0
    for token in tokens:
        if token.kind != "punct":
            continue
        if token.text in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif token.text in _CLOSE:
            depth = max(0, depth - 1)
    return deepest


def macro_depth(tokens: list[Token]) -> int:
    """Deepest nesting of comprehension macros, which multiplies evaluation cost."""
    stack: list[bool] = []
    depth = deepest = 0
    for i, token in enumerate(tokens):
        if token.kind == "punct" and token.text in _OPEN:
            is_macro = token.text == "(" and _macro_call_at(tokens, i - 1)
            stack.append(is_macro)
            depth += is_macro
            deepest = max(deepest, depth)
        elif token.kind == "punct" and token.text in _CLOSE and stack:
            depth -= stack.pop()
    return deepest


def is_macro_call(tokens: list[Token], i: int) -> bool:
    """Whether token `i` names a comprehension macro called as a method (`.map`)."""
    return _macro_call_at(tokens, i)


def _macro_call_at(tokens: list[Token], i: int) -> bool:
    return (
        i >= 1
        and tokens[i].kind == "ident"
        and tokens[i].text in _BINDING_MACROS
        and tokens[i - 1].text == "."
    )


def bound_names(tokens: list[Token]) -> frozenset[str]:
    """Names bound by comprehension macros, e.g. `x` in `items.map(x, x * 2)`."""
    names = set()
    for i in range(1, len(tokens) - 3):
        if (
            _macro_call_at(tokens, i)
            and tokens[i + 1].text == "("
            and tokens[i + 2].kind == "ident"
            and tokens[i + 3].text == ","
        ):
            names.add(tokens[i + 2].text)
    return frozenset(names)


def member_reads(tokens: list[Token], root: str) -> frozenset[str]:
    """Second-level names read under a top-level name: `vars.total` or `vars["total"]`.

    Only reads of the top-level `root` count; `input.vars.x` does not read `vars`.
    """
    found = set()
    for i, token in enumerate(tokens[:-2]):
        if token.kind != "ident" or token.text != root:
            continue
        if i > 0 and tokens[i - 1].text == ".":
            continue
        nxt, arg = tokens[i + 1], tokens[i + 2]
        if nxt.text == "." and arg.kind == "ident":
            found.add(arg.text)
        elif nxt.text == "[" and arg.kind == "string" and _plain_string(arg.text):
            found.add(arg.text[1:-1])
    return frozenset(found)


def _plain_string(text: str) -> bool:
    return len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0] and "\\" not in text


def split_template(text: str) -> list[str | tuple[str]] | None:
    """Split a mapping string into literal parts and `${ expr }` parts.

    Returns None when the string holds no `${`. Expression parts come back as 1-tuples of
    their source; `$${` is an escaped literal `${`.

    Raises:
        ValueError: an expression part is never closed.
    """
    if "${" not in text:
        return None
    parts: list[str | tuple[str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("$${", i):
            literal.append("${")
            i += 3
        elif text.startswith("${", i):
            end = _closing_brace(text, i + 2)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append((text[i + 2 : end].strip(),))
            i = end + 1
        else:
            # Jump to the next `$`: most of a template is literal text.
            nxt = text.find("$", i + 1)
            nxt = len(text) if nxt < 0 else nxt
            literal.append(text[i:nxt])
            i = nxt
    if literal:
        parts.append("".join(literal))
    return parts


def _closing_brace(text: str, start: int) -> int:
    depth, i, quote = 0, start, ""
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return i
            depth -= 1
        i += 1
    raise ValueError("an expression `${` is never closed with `}`")
