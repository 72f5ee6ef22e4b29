"""Retry delays: fixed or exponential backoff, capped, with deterministic jitter.

Jitter must not come from `random`: the delay is part of a recorded event and a
replay must compute the same one. It is drawn from a hash of the execution id,
the step path and the attempt number instead.
"""

from __future__ import annotations

import hashlib

from schemas.definitions import RetryPolicy

__all__ = ["jitter_fraction", "retry_delay"]


def jitter_fraction(execution_id: str, step_path: str, attempt: int) -> float:
    """A fraction in [0, 1), the same for the same inputs on every machine."""
    digest = hashlib.blake2b(
        f"{execution_id}\x00{step_path}\x00{attempt}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def retry_delay(policy: RetryPolicy, failed_attempt: int, execution_id: str, step_path: str) -> float:
    """Seconds to wait before attempt ``failed_attempt + 1``.

    The base delay is ``initial_interval`` (fixed) or ``initial_interval *
    factor ** (failed_attempt - 1)`` (exponential), capped at ``max_interval``;
    jitter then shortens it by up to ``jitter`` of itself, so the cap still holds.

    Args:
        policy: The step's retry policy.
        failed_attempt: The attempt that just failed (1 for the first).
        execution_id: Seeds the jitter.
        step_path: Seeds the jitter.

    Returns:
        The delay in seconds, in ``[base * (1 - jitter), base]``.
    """
    if policy.backoff == "fixed":
        base = policy.initial_interval
    else:
        # Cap the exponent first: factor ** 99 overflows long before any cap applies.
        exponent = min(failed_attempt - 1, 64)
        base = policy.initial_interval * policy.factor**exponent
    base = min(base, policy.max_interval)
    if policy.jitter:
        base *= 1.0 - policy.jitter * jitter_fraction(execution_id, step_path, failed_attempt)
    return base
