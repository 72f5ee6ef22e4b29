"""What the analyser reads (plain data) and what it returns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.definitions import RuleDefinition

__all__ = ["Finding", "InsightLimits", "RuleObservation", "Traffic", "draft_of"]


@dataclass(frozen=True, slots=True)
class RuleObservation:
    """What the statistics say about one rule (all counts over the views' lifetime).

    Attributes:
        evaluations: outcomes of any kind.
        matched: `rule_matched` outcomes (fired, queued or batched).
        deferred: matched outcomes without actions (queued for a slot, or gathered in a batch).
        skipped: `rule_skipped` outcomes; `skip_reasons` splits them by reason.
        failed: failed evaluations or matches with a failed action.
        errors: error code -> count (`action_failed:<type>` for failed actions).
        last_error: the latest error's message, if any.
        last_match: when it last matched.
        active_since: when its running version became active (published).
    """

    evaluations: int = 0
    matched: int = 0
    deferred: int = 0
    skipped: int = 0
    failed: int = 0
    skip_reasons: Mapping[str, int] = field(default_factory=dict)
    errors: Mapping[str, int] = field(default_factory=dict)
    last_error: str = ""
    last_match: dt.datetime | None = None
    active_since: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Traffic:
    """Events of one type seen (a lower bound: the views see events through rule outcomes)."""

    events: int
    last_seen: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class InsightLimits:
    """Thresholds: below them the analyser keeps quiet.

    Attributes:
        window: how far back "never matched" looks.
        min_events: events of a rule's type seen before its silence means something.
        min_outcomes: outcomes before a rate (failures, skips) means something.
        failure_rate: share of firings with a failed action that is worth a finding.
        batch_fill: mean batch size below this share of `batch.size`: flushed by the window.
    """

    window: dt.timedelta = dt.timedelta(days=7)
    min_events: int = 100
    min_outcomes: int = 20
    failure_rate: float = 0.05
    batch_fill: float = 0.5


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing worth changing.

    Attributes:
        kind: what was found (see docs/rules.md, "Insights").
        rules: the rules involved, the one to change first.
        evidence: the numbers (and, for condition findings, the conditions) behind it.
        suggestion: what to do, in a sentence.
        drafts: changed definitions (status `draft`, next minor version) ready to publish.
    """

    kind: str
    rules: tuple[str, ...]
    evidence: Mapping[str, Any]
    suggestion: str
    drafts: tuple[Mapping[str, Any], ...] = ()

    @property
    def key(self) -> str:
        """A stable id: the kind and the rules (lists are paged by it)."""
        return f"{self.kind}:{','.join(self.rules)}"

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "rules": list(self.rules),
                "evidence": dict(self.evidence), "suggestion": self.suggestion,
                "drafts": [dict(d) for d in self.drafts]}


def draft_of(rule: RuleDefinition, **changes: Any) -> dict[str, Any]:
    """The rule as a publishable draft with `changes`, at the next minor version."""
    body = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    body.update(changes)
    body["status"] = "draft"
    body["version"] = _next_minor(rule.version)
    return body


def _next_minor(version: str) -> str:
    core = version.split("-", 1)[0].split("+", 1)[0]
    major, minor, _ = (int(p) for p in core.split("."))
    return f"{major}.{minor + 1}.0"
