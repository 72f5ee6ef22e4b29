"""The monitor's conditions, pure: each fires where planted, once, and resolves when it stops
holding; nothing fires on a clean series; a restarted watcher continues the open incidents."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from projections.watch.conditions import ConditionsError, parse_conditions
from projections.watch.watcher import Sample, Watcher
from schemas.alerts import AlertRaised, AlertResolved

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CONDITIONS = parse_conditions("""[
  {"kind": "workflow_failure_rate", "max_rate": 0.25, "window_s": 600, "min_executions": 8,
   "workflows": ["billing-*"], "channels": ["ops"]},
  {"kind": "workflow_failure_rate", "max_rate": 0.9, "window_s": 600, "channels": ["ops"]},
  {"kind": "dead_letters", "max_new": 2, "window_s": 300, "channels": ["ops", "chat"]},
  {"kind": "projection_lag", "max_records": 1000, "for_s": 60, "channels": ["ops"]},
  {"kind": "rule_actions_failing", "max_rate": 0.1, "window_s": 600, "min_actions": 10,
   "channels": ["chat"]}
]""", channels=["ops", "chat"])


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def run(series: list[tuple[float, Sample]], watcher: Watcher | None = None
        ) -> list[tuple[float, str, str]]:
    """(minute, type, key) of every alert the series causes."""
    watcher = watcher or Watcher(CONDITIONS)
    out = []
    for minute, sample in series:
        out += [(minute, a.type, a.key) for a in watcher.observe(sample, at(minute))]
    return out


def wf(finished: int, failed: int, name: str = "billing-eu", **rest: Any) -> Sample:
    return Sample(workflows={name: (finished, failed)}, **rest)


def test_a_workflow_failing_over_its_rate_in_the_window_raises_once_and_resolves() -> None:
    series = [(0, wf(100, 0)), (1, wf(104, 1)),  # 1 of 4: under min_executions
              (2, wf(110, 4)),                   # 4 of 10 = 40 % >= 25 %: raise
              (3, wf(120, 8)),                   # still holding: nothing new
              (12, wf(140, 9)),                  # window 2..12: 5 of 30: resolve
              (13, wf(150, 9))]
    assert run(series) == [(2, "alert_raised", "failure-rate:billing-eu"),
                           (12, "alert_resolved", "failure-rate:billing-eu")]


def test_the_alert_says_what_was_measured() -> None:
    watcher = Watcher(CONDITIONS)
    watcher.observe(wf(0, 0), at(0))
    [raised] = watcher.observe(wf(10, 4), at(1))
    assert isinstance(raised, AlertRaised)
    assert (raised.condition, raised.workflow_id, raised.value, raised.threshold) == (
        "workflow_failure_rate", "billing-eu", 0.4, 0.25)
    assert raised.channels == ("ops",) and raised.time == at(1)
    assert "4 of 10 executions failed" in raised.summary


def test_the_first_matching_condition_judges_a_workflow() -> None:
    # "other" falls to the catch-all at 90 %: 50 % raises nothing
    assert run([(0, wf(0, 0, "other")), (1, wf(20, 10, "other"))]) == []
    assert run([(0, wf(0, 0, "other")), (1, wf(20, 19, "other"))]) == [
        (1, "alert_raised", "failure-rate:other")]


def test_a_window_not_fully_seen_raises_but_never_resolves() -> None:
    # A monitor restarted during an incident: the topic says it is open.
    watcher = Watcher(CONDITIONS, open_keys={"failure-rate:billing-eu"})
    series = [(0, wf(10, 0)), (5, wf(11, 0)),  # clean so far, but only 5 of 10 minutes seen
              (10, wf(12, 0))]                 # the whole window seen clean: resolve
    assert run(series, watcher) == [(10, "alert_resolved", "failure-rate:billing-eu")]


def test_dead_letters_growing_past_the_bound_raise_and_a_quiet_window_resolves() -> None:
    series = [(0, Sample(dead_letters=7)), (1, Sample(dead_letters=9)),  # +2: at the bound
              (2, Sample(dead_letters=10)),  # +3 over 5 minutes: raise
              (4, Sample(dead_letters=10)),  # -1..4 still +3
              (6, Sample(dead_letters=10)),  # 1..6: +1, within the bound: resolve
              (8, Sample(dead_letters=10))]
    assert run(series) == [(2, "alert_raised", "dead-letters"),
                           (6, "alert_resolved", "dead-letters")]


def test_dead_letter_alerts_go_to_their_channels_with_the_count() -> None:
    watcher = Watcher(CONDITIONS)
    watcher.observe(Sample(dead_letters=0), at(0))
    [raised] = watcher.observe(Sample(dead_letters=5), at(1))
    assert raised.channels == ("ops", "chat") and raised.value == 5 and raised.threshold == 2


def test_projection_lag_must_last_before_it_raises_and_resolves_when_under() -> None:
    series = [(0, Sample(lag=5000)), (0.5, Sample(lag=4000)),  # over for 30 s: not yet
              (1, Sample(lag=3000)),                           # over for 60 s: raise
              (1.5, Sample(lag=None)),                         # unknown: no change
              (2, Sample(lag=10)),                             # under: resolve
              (2.5, Sample(lag=2000)), (3, Sample(lag=10))]    # a blip: nothing
    assert run(series) == [(1, "alert_raised", "projection-lag"),
                           (2, "alert_resolved", "projection-lag")]


def test_a_rule_whose_actions_fail_raises_and_resolves() -> None:
    def rule(ended: int, failed: int) -> Sample:
        return Sample(rules={"on-order": (ended, failed)})

    series = [(0, rule(0, 0)), (1, rule(9, 9)),  # 9 ended: under min_actions
              (2, rule(20, 10)),                 # 10 of 20: raise
              (13, rule(120, 12))]               # 2 of 100 over 3..13: resolve
    alerts = run(series)
    assert alerts == [(2, "alert_raised", "rule-actions:on-order"),
                      (13, "alert_resolved", "rule-actions:on-order")]
    watcher = Watcher(CONDITIONS)
    watcher.observe(rule(0, 0), at(0))
    [raised] = watcher.observe(rule(20, 10), at(1))
    assert raised.rule_id == "on-order" and raised.condition == "rule_actions_failing"


def test_a_clean_series_raises_nothing() -> None:
    series = [(m, Sample(workflows={"billing-eu": (10 * m, m // 10), "other": (m, 0)},
                         rules={"on-order": (10 * m, 0)}, dead_letters=3, lag=m % 7))
              for m in range(60)]
    assert run(series) == []


def test_a_rebuild_of_the_views_restarts_the_windows() -> None:
    # Counts restart from zero and climb back while the views catch up: not 40 new letters.
    series = [(0, Sample(dead_letters=40)), (1, Sample(dead_letters=0, caught_up=False)),
              (2, Sample(dead_letters=20, caught_up=False)), (3, Sample(dead_letters=40))]
    assert run(series) == []
    # Even when the drop itself was read as caught up, the windows start again there.
    assert run([(0, Sample(dead_letters=40)), (1, Sample(dead_letters=0)),
                (2, Sample(dead_letters=1))]) == []


def test_a_resolve_carries_the_value_that_ended_it() -> None:
    watcher = Watcher(CONDITIONS)
    watcher.observe(Sample(dead_letters=0), at(0))
    watcher.observe(Sample(dead_letters=5), at(1))
    alerts = [a for m in range(2, 8) for a in watcher.observe(Sample(dead_letters=5), at(m))]
    assert [type(a) for a in alerts] == [AlertResolved]
    assert alerts[0].value == 0


@pytest.mark.parametrize(("text", "path"), [
    ('[{"kind": "workflow_failure_rate", "max_rate": 1.5, "channels": ["ops"]}]', "[0].max_rate"),
    ('[{"kind": "dead_letters", "channels": []}]', "[0].channels"),
    ('[{"kind": "projection_lag", "channels": ["ops"]}]', "[0].max_records"),
    ('[{"kind": "disk_full", "channels": ["ops"]}]', "[0].kind"),
    ('[{"kind": "dead_letters", "channels": ["pager"]}]', "[0].channels[0]"),
    ('[{"kind": "dead_letters", "channels": ["ops"]}, {"kind": "dead_letters", '
     '"channels": ["ops"]}]', "[1].kind"),
    ('[{"kind": "rule_actions_failing", "max_rate": 0.1, "window": 60, "channels": ["ops"]}]',
     "[0].window"),
    ('{"kind": "dead_letters"}', "(top)"),
])
def test_conditions_are_validated_naming_the_field(text: str, path: str) -> None:
    with pytest.raises(ConditionsError) as caught:
        parse_conditions(text, channels=["ops"])
    assert [p.path for p in caught.value.problems] == [path]
