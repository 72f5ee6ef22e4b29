"""Alert conditions over the views: a workflow's failure rate, dead letters growing, the
views' lag, a rule's failing actions. `conditions` (the settings, validated) and `watcher`
(the judgement) are pure; `monitor` reads the views and writes the alerts to ``hw.alerts``."""

from projections.watch.conditions import Condition, ConditionsError, parse_conditions
from projections.watch.monitor import Monitor, read_views
from projections.watch.watcher import Sample, Watcher

__all__ = ["Condition", "ConditionsError", "Monitor", "Sample", "Watcher", "parse_conditions",
           "read_views"]
