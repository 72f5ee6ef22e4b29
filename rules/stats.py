"""Rule statistics as a fold over rule outcomes (`schemas.outcomes`).

`fold(stats, outcome)` is pure and order-insensitive in everything but `last_match`; two
folds over halves of the log `merge` into the fold over the whole. Percentiles come from a
fixed log-scale histogram (buckets 10% wide), so memory stays constant whatever the volume.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from schemas.outcomes import RuleFailed, RuleMatched, RuleOutcome

_GROWTH = 1.1
_LOG_GROWTH = math.log(_GROWTH)


def _bucket(micros: int) -> int:
    return 0 if micros <= 0 else 1 + int(math.log(micros) / _LOG_GROWTH)


def _bucket_upper(bucket: int) -> float:
    return 0.0 if bucket == 0 else _GROWTH**bucket


@dataclass(frozen=True, slots=True)
class RuleStats:
    """What one rule has done.

    Attributes:
        evaluations: outcomes seen (matched, skipped and failed).
        matches: `rule_matched` outcomes.
        skipped: `rule_skipped` outcomes.
        failed: `rule_failed` outcomes.
        action_errors: matched outcomes with at least one failed action.
        total_us: sum of evaluation times, for the average.
        histogram: evaluation-time bucket -> count.
        last_match: when the rule last matched.
    """

    evaluations: int = 0
    matches: int = 0
    skipped: int = 0
    failed: int = 0
    action_errors: int = 0
    total_us: int = 0
    histogram: Mapping[int, int] = field(default_factory=dict)
    last_match: dt.datetime | None = None

    @property
    def errors(self) -> int:
        """Failed evaluations plus matches with a failed action."""
        return self.failed + self.action_errors

    @property
    def success_rate(self) -> float | None:
        """Share of activations (matched or failed) that ran with no failed action."""
        activations = self.matches + self.failed
        if activations == 0:
            return None
        return (self.matches - self.action_errors) / activations

    @property
    def avg_evaluation_us(self) -> float | None:
        """Mean evaluation time in microseconds."""
        return self.total_us / self.evaluations if self.evaluations else None

    def percentile_us(self, q: float) -> float | None:
        """The q-quantile (0..1) of evaluation time, to within 10%."""
        if not self.evaluations:
            return None
        rank = max(1, math.ceil(q * self.evaluations))
        seen = 0
        for bucket in sorted(self.histogram):
            seen += self.histogram[bucket]
            if seen >= rank:
                return _bucket_upper(bucket)
        return None

    @property
    def p95_evaluation_us(self) -> float | None:
        """95th percentile of evaluation time, in microseconds (upper bucket bound)."""
        return self.percentile_us(0.95)


def fold(stats: RuleStats, outcome: RuleOutcome) -> RuleStats:
    """The statistics after one more outcome."""
    histogram = dict(stats.histogram)
    bucket = _bucket(outcome.evaluation_us)
    histogram[bucket] = histogram.get(bucket, 0) + 1
    matches, skipped, failed = stats.matches, stats.skipped, stats.failed
    action_errors, last_match = stats.action_errors, stats.last_match
    if isinstance(outcome, RuleMatched):
        matches += 1
        action_errors += any(a.status == "failed" for a in outcome.actions)
        if last_match is None or outcome.evaluated_at > last_match:
            last_match = outcome.evaluated_at
    elif isinstance(outcome, RuleFailed):
        failed += 1
    else:
        skipped += 1
    return replace(
        stats,
        evaluations=stats.evaluations + 1,
        matches=matches,
        skipped=skipped,
        failed=failed,
        action_errors=action_errors,
        total_us=stats.total_us + outcome.evaluation_us,
        histogram=histogram,
        last_match=last_match,
    )


def merge(a: RuleStats, b: RuleStats) -> RuleStats:
    """The statistics of two disjoint sets of outcomes together."""
    histogram = dict(a.histogram)
    for bucket, count in b.histogram.items():
        histogram[bucket] = histogram.get(bucket, 0) + count
    lasts = [t for t in (a.last_match, b.last_match) if t is not None]
    return RuleStats(
        a.evaluations + b.evaluations,
        a.matches + b.matches,
        a.skipped + b.skipped,
        a.failed + b.failed,
        a.action_errors + b.action_errors,
        a.total_us + b.total_us,
        histogram,
        max(lasts) if lasts else None,
    )


def fold_all(outcomes: Iterable[RuleOutcome]) -> dict[str, RuleStats]:
    """Statistics per rule id over a stream of outcomes."""
    by_rule: dict[str, RuleStats] = {}
    for outcome in outcomes:
        by_rule[outcome.rule_id] = fold(by_rule.get(outcome.rule_id, RuleStats()), outcome)
    return by_rule
