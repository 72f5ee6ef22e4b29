"""The monitor's judgement (pure: samples and the time come in, alert records go out).

The views hold counts over all time; a window is the difference between the newest sample and
the newest one at least a window old (the oldest while fewer are kept), as Prometheus'
``increase()``. A condition raises when it starts holding and resolves when it stops (edge
triggered, per alert key); `open_keys` says what the topic already has open, so a restarted
monitor neither raises an open incident again nor forgets to resolve it. Evidence to raise
may come from part of a window; a resolve needs samples over the whole window (a fresh
monitor does not call a window clean that it has not seen).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from projections.watch.conditions import (
    Condition,
    DeadLetters,
    ProjectionLag,
    RuleActionsFailing,
    WorkflowFailureRate,
    first_match,
)
from schemas.alerts import AlertRaised, AlertResolved

__all__ = ["MONITOR_KEY_PREFIXES", "Sample", "Watcher"]

Alert = AlertRaised | AlertResolved

MONITOR_KEY_PREFIXES = ("failure-rate:", "dead-letters", "projection-lag", "rule-actions:")
"""The keys of the monitor's alerts (``workflow:`` keys belong to the execution processor)."""


@dataclass(frozen=True)
class Sample:
    """Counts read from the views at one time (all cumulative, except `lag`).

    Attributes:
        workflows: Workflow id -> (finished executions, failed or timed-out ones).
        rules: Rule id -> (actions that ended, actions that failed).
        dead_letters: Dead letters written.
        lag: Records the views are behind the log; None: not known now.
        caught_up: Whether the views held (nearly) the whole log when read. Counts read
            while they catch up (a start, a rebuild) grow with the folding, not with time:
            such a sample judges only the lag.
    """

    workflows: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    rules: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    dead_letters: int = 0
    lag: int | None = None
    caught_up: bool = True


def _total(sample: Sample) -> int:
    """Counts that only grow while the views are not rebuilt (a workflow's finished count
    shrinks while a failed execution is retried, so it is not one of them)."""
    return sample.dead_letters + sum(n for n, _ in sample.rules.values())


@dataclass(frozen=True)
class _Verdict:
    key: str
    condition: Condition
    holds: bool
    value: float
    threshold: float
    summary: str
    certain: bool = True  # False: the window is not fully seen, so "not holding" is no resolve
    workflow_id: str = ""
    rule_id: str = ""


class Watcher:
    """Edge-triggered alerts over a series of samples.

    Args:
        conditions: The configured conditions (``parse_conditions``).
        open_keys: Monitor alert keys open on the topic now (the fold of ``hw.alerts``).
    """

    def __init__(self, conditions: Sequence[Condition], open_keys: Iterable[str] = ()) -> None:
        self._rates = [c for c in conditions if isinstance(c, WorkflowFailureRate)]
        self._actions = [c for c in conditions if isinstance(c, RuleActionsFailing)]
        self._letters = next((c for c in conditions if isinstance(c, DeadLetters)), None)
        self._lag = next((c for c in conditions if isinstance(c, ProjectionLag)), None)
        windows = [c.window_s for c in self._rates] + [c.window_s for c in self._actions]
        windows += [self._letters.window_s] if self._letters else []
        self._keep = dt.timedelta(seconds=max(windows, default=0))
        self._samples: deque[tuple[dt.datetime, Sample]] = deque()
        self._open = set(open_keys)
        self._lag_over_since: dt.datetime | None = None

    @property
    def open_keys(self) -> frozenset[str]:
        """The monitor's alert keys it considers open."""
        return frozenset(self._open)

    @property
    def watching(self) -> bool:
        """Whether a caught-up sample was taken: the baseline of every window (what the views
        held before it is history and raises nothing)."""
        return bool(self._samples)

    def undo(self, alerts: Iterable[Alert]) -> None:
        """Forget that `alerts` were said (they could not be written): the next look says
        them again if they still hold."""
        for alert in alerts:
            if isinstance(alert, AlertRaised):
                self._open.discard(alert.key)
            else:
                self._open.add(alert.key)

    def observe(self, sample: Sample, now: dt.datetime) -> list[Alert]:
        """Fold `sample` taken at `now`; the raises and resolves it causes."""
        verdicts: list[_Verdict] = []
        if sample.caught_up:
            self._remember(sample, now)
            verdicts += [*self._workflow_verdicts(sample, now), *self._rule_verdicts(sample, now)]
            if self._letters is not None:
                verdicts.append(self._letter_verdict(self._letters, sample, now))
        if self._lag is not None and sample.lag is not None:
            verdicts.append(self._lag_verdict(self._lag, sample.lag, now))
        return [alert for v in verdicts if (alert := self._edge(v, now)) is not None]

    # -- the series ------------------------------------------------------------------
    def _remember(self, sample: Sample, now: dt.datetime) -> None:
        if self._samples and _total(sample) < _total(self._samples[-1][1]):
            self._samples.clear()  # the views were rebuilt: counts restart, so do windows
        self._samples.append((now, sample))
        # Keep one sample at least `_keep` old: it is the start of the longest window.
        while len(self._samples) > 1 and self._samples[1][0] <= now - self._keep:
            self._samples.popleft()

    def _base(self, window_s: float, now: dt.datetime) -> tuple[Sample, bool]:
        """The sample a window starts at, and whether the samples cover the whole window."""
        start = now - dt.timedelta(seconds=window_s)
        base = self._samples[0]
        for taken in self._samples:
            if taken[0] > start:
                break
            base = taken
        return base[1], base[0] <= start

    # -- the conditions --------------------------------------------------------------
    def _workflow_verdicts(self, sample: Sample, now: dt.datetime) -> Iterable[_Verdict]:
        for workflow_id, counts in sorted(sample.workflows.items()):
            condition = first_match(self._rates, workflow_id)
            if condition is not None:
                yield self._rate_verdict("workflows", workflow_id, condition,
                                         condition.min_executions, counts, now)

    def _rule_verdicts(self, sample: Sample, now: dt.datetime) -> Iterable[_Verdict]:
        for rule_id, counts in sorted(sample.rules.items()):
            condition = first_match(self._actions, rule_id)
            if condition is not None:
                yield self._rate_verdict("rules", rule_id, condition, condition.min_actions,
                                         counts, now)

    def _rate_verdict(self, series: str, name: str,
                      condition: WorkflowFailureRate | RuleActionsFailing, minimum: int,
                      counts: tuple[int, int], now: dt.datetime) -> _Verdict:
        """A failure rate over a window: `counts` is `name`'s (ended, failed) over all time in
        the sample's `series` ("workflows": executions, "rules": actions)."""
        base, full = self._base(condition.window_s, now)
        was: tuple[int, int] = getattr(base, series).get(name, (0, 0))
        done, bad = max(counts[0] - was[0], 0), max(counts[1] - was[1], 0)
        rate = bad / done if done else 0.0
        workflow = series == "workflows"
        return _Verdict(
            f"failure-rate:{name}" if workflow else f"rule-actions:{name}", condition,
            done >= minimum and rate >= condition.max_rate, round(rate, 4), condition.max_rate,
            f"{'workflow' if workflow else 'rule'} {name}: {bad} of {done} "
            f"{'executions' if workflow else 'actions'} failed in the last "
            f"{condition.window_s:g} s ({rate:.0%}; alert at {condition.max_rate:.0%})",
            full, workflow_id=name if workflow else "", rule_id="" if workflow else name)

    def _letter_verdict(self, condition: DeadLetters, sample: Sample, now: dt.datetime
                        ) -> _Verdict:
        base, full = self._base(condition.window_s, now)
        new = max(sample.dead_letters - base.dead_letters, 0)
        return _Verdict("dead-letters", condition, new > condition.max_new, new,
                        condition.max_new,
                        f"{new} new dead letters in the last {condition.window_s:g} s "
                        f"(alert above {condition.max_new}); see GET /dead-letters", full)

    def _lag_verdict(self, condition: ProjectionLag, lag: int, now: dt.datetime) -> _Verdict:
        if lag <= condition.max_records:
            self._lag_over_since = None
        elif self._lag_over_since is None:
            self._lag_over_since = now
        since = self._lag_over_since
        lasting = since is not None and now - since >= dt.timedelta(seconds=condition.for_s)
        return _Verdict("projection-lag", condition, lasting, lag, condition.max_records,
                        f"the API's views are {lag} records behind the log (alert above "
                        f"{condition.max_records} for {condition.for_s:g} s)")

    def _edge(self, verdict: _Verdict, now: dt.datetime) -> Alert | None:
        is_open = verdict.key in self._open
        if verdict.holds == is_open or (not verdict.holds and not verdict.certain):
            return None
        common: dict[str, Any] = {"key": verdict.key, "channels": verdict.condition.channels, "time": now,
                  "condition": verdict.condition.kind, "workflow_id": verdict.workflow_id,
                  "rule_id": verdict.rule_id, "value": verdict.value,
                  "threshold": verdict.threshold, "summary": verdict.summary}
        if verdict.holds:
            self._open.add(verdict.key)
            return AlertRaised(**common)
        self._open.discard(verdict.key)
        return AlertResolved(**common)
