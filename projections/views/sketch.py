"""Quantiles of durations without keeping every value: a DDSketch-style log histogram.

A value ``x > 0`` falls into bucket ``ceil(log(x) / log(gamma))``; answering from the bucket's
midpoint keeps every quantile within ``ALPHA`` (1 %) of the exact one. The sketch is a
multiset of bucket counts, so it does not depend on the order values arrive in, and a value
can be taken out again (an execution that failed and was later retried to completion).
"""

from __future__ import annotations

import math
from typing import Final

from pydantic import BaseModel, ConfigDict

__all__ = ["ALPHA", "Sketch"]

ALPHA: Final = 0.01
_GAMMA: Final = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA: Final = math.log(_GAMMA)
_TINY: Final = 1e-9  # values at or below this count as zero


class Sketch(BaseModel):
    """A mergeable, order-independent quantile sketch with 1 % relative accuracy.

    Attributes:
        buckets: Bucket index -> how many values fell into it.
        zeros: How many values were (close to) zero.
    """

    model_config = ConfigDict(frozen=True)

    buckets: dict[int, int] = {}
    zeros: int = 0

    @property
    def count(self) -> int:
        """How many values the sketch holds."""
        return self.zeros + sum(self.buckets.values())

    def add(self, value: float, times: int = 1) -> Sketch:
        """A sketch with ``value`` added ``times`` times (a negative ``times`` removes it)."""
        if value <= _TINY:
            return self.model_copy(update={"zeros": max(0, self.zeros + times)})
        index = math.ceil(math.log(value) / _LOG_GAMMA)
        buckets = dict(self.buckets)
        count = buckets.get(index, 0) + times
        if count > 0:
            buckets[index] = count
        else:
            buckets.pop(index, None)
        return self.model_copy(update={"buckets": buckets})

    def quantile(self, q: float) -> float | None:
        """The ``q``-quantile (0 <= q <= 1) of the values, or None when there are none.

        The answer is within ``ALPHA`` (relative) of ``sorted(values)[floor(q * (n - 1))]``.
        """
        total = self.count
        if total == 0:
            return None
        rank = math.floor(min(max(q, 0.0), 1.0) * (total - 1))
        if rank < self.zeros:
            return 0.0
        seen = self.zeros
        for index in sorted(self.buckets):
            seen += self.buckets[index]
            if seen > rank:
                return 2 * _GAMMA**index / (_GAMMA + 1)
        return None  # unreachable: the counts add up to total
