"""Regular expressions on RE2: linear time in the input, whatever the pattern.

Python's `re` backtracks: `(a|aa)+$` on 30 characters takes minutes. RE2 (the engine CEL's
`matches()` is specified on, and the `google-re2` binding of Google's C++ library) runs in
time linear in the input for every pattern it accepts, because it has no backreferences and
no lookaround. A pattern RE2 cannot express is refused here, at compile time, with RE2's
reason; validation and the worker call this one function, so they cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import re2

from schemas.expressions._expression import ExpressionError

MAX_REGEX_CHARS = 1000
"""Longest pattern accepted, in characters."""
MAX_REGEX_MEMORY = 1 << 20
"""RE2's memory budget for one compiled pattern (bytes); larger programs are refused."""

Matcher = Callable[[str], bool]


def compile_regex(pattern: str, *, ignore_case: bool = False) -> Matcher:
    """Compile a pattern to a full-match test: `matcher(text) -> bool`.

    Args:
        pattern: RE2 syntax (https://github.com/google/re2/wiki/Syntax): Perl classes,
            `(?i)` and other flags, Unicode classes `\\p{L}`; no backreferences (`\\1`),
            no lookaround (`(?=`, `(?!`, `(?<=`), no possessive or atomic groups, and
            counted repetitions of at most 1000 in total.
        ignore_case: match without regard to case (`$imt`).

    Raises:
        ExpressionError: `invalid_regex`, with RE2's reason.
    """
    if not isinstance(pattern, str):
        raise ExpressionError("invalid_regex", "a regular expression is a string")
    if len(pattern) > MAX_REGEX_CHARS:
        raise ExpressionError(
            "invalid_regex", f"a regular expression has at most {MAX_REGEX_CHARS} characters"
        )
    return _compile(pattern, ignore_case)


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> Matcher:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.case_sensitive = not ignore_case
    options.max_mem = MAX_REGEX_MEMORY
    options.never_capture = True  # a yes/no answer: lets RE2 stay on its DFA
    try:
        fullmatch = re2.compile(pattern, options).fullmatch
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        raise ExpressionError("invalid_regex", f"RE2 cannot run this pattern: {reason}") from None
    except (TypeError, ValueError) as exc:  # e.g. a lone surrogate that is not UTF-8
        raise ExpressionError("invalid_regex", f"not a regular expression: {exc}") from None

    def matcher(text: str) -> bool:
        try:
            return fullmatch(text) is not None
        except (TypeError, ValueError):  # text that cannot be encoded as UTF-8
            return False

    return matcher
