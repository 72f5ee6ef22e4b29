"""``/metrics`` in the Prometheus text format.

Names carry the ``headwater_`` prefix and base units (seconds, records); counters end in
``_total``. Labels are bounded: the route *template* (``/executions/{execution_id}``), never
an execution id or any other value a client controls.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from projections.producer import EventProducer
from projections.projector import PartitionLag, Projector
from projections.store import ViewStore
from projections.views.dashboard import Totals
from projections.views.dead_letters import read_summary
from projections.views.rule_stats import RuleStats
from projections.views.workflow_stats import WorkflowStats

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsMiddleware"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# `_created` series double every counter for a timestamp nobody here graphs.
disable_created_metrics()  # type: ignore[no-untyped-call]


class _ViewCollector(Collector):
    """Reads the views and the projector when scraped, so nothing is counted twice."""

    def __init__(self, store: ViewStore, producer: EventProducer,
                 projector: Callable[[], Projector | None]) -> None:
        self.store, self.producer, self.projector = store, producer, projector
        self.lag: list[PartitionLag] = []

    def collect(self) -> Iterable[Metric]:
        executions = GaugeMetricFamily("headwater_executions", "Executions by current status",
                                       labels=["status"])
        data = self.store.get("dash")
        for status, n in (Totals.model_validate_json(data).by_status if data else {}).items():
            executions.add_metric([status], n)
        yield executions
        produced = CounterMetricFamily("headwater_api_records_produced",
                                       "Records the API wrote to Kafka", labels=["topic"])
        for role, n in sorted(self.producer.sent_by_role.items()):
            produced.add_metric([role], n)
        yield produced
        yield from self._definition_metrics()
        yield from self._projector_metrics()

    def _definition_metrics(self) -> Iterable[Metric]:
        # Labelled by workflow and rule id: as many series as definitions, which the operator
        # controls (never an execution or event id). The alert rules file reads these.
        by_workflow = GaugeMetricFamily(
            "headwater_workflow_executions", "Executions of each workflow by current status",
            labels=["workflow", "status"])
        for _, data in self.store.scan("ws/"):
            stats = WorkflowStats.model_validate_json(data)
            for status, n in sorted(stats.by_status.items()):
                by_workflow.add_metric([stats.workflow_id, status], n)
        yield by_workflow
        actions = CounterMetricFamily("headwater_rule_actions",
                                      "Actions of each rule that ended, by result",
                                      labels=["rule", "result"])
        for _, data in self.store.scan("rs/"):
            rule = RuleStats.model_validate_json(data)
            actions.add_metric([rule.rule_id, "succeeded"], rule.actions_succeeded)
            actions.add_metric([rule.rule_id, "failed"], rule.actions_failed)
        yield actions
        letters = CounterMetricFamily("headwater_dead_letters",
                                      "Dead letters written, by the topic they came from",
                                      labels=["topic"])
        for topic, n in sorted(read_summary(self.store).by_topic.items()):
            letters.add_metric([topic], n)
        yield letters

    def _projector_metrics(self) -> Iterable[Metric]:
        running = self.projector()
        applied = CounterMetricFamily("headwater_view_records_applied",
                                      "Records folded into the views by this process")
        applied.add_metric([], running.applied if running else 0)
        yield applied
        lag = GaugeMetricFamily("headwater_view_lag_records",
                                "Records in the log not yet in the views", labels=["topic"])
        per_topic: dict[str, int] = {}
        for part in self.lag:
            per_topic[part.topic] = per_topic.get(part.topic, 0) + part.lag
        for topic, n in sorted(per_topic.items()):
            lag.add_metric([topic], n)
        yield lag


class Metrics:
    """One registry per API instance (tests run several in one process)."""

    def __init__(self, store: ViewStore, producer: EventProducer,
                 projector: Callable[[], Projector | None]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("headwater_http_requests", "HTTP requests answered",
                                ["method", "route", "status"], registry=self.registry)
        self.duration = Histogram("headwater_http_request_duration_seconds",
                                  "Time to answer an HTTP request", ["method", "route"],
                                  registry=self.registry)
        self.webhooks = Counter("headwater_webhooks", "Webhook requests by outcome",
                                ["kind", "outcome"], registry=self.registry)
        self._views = _ViewCollector(store, producer, projector)
        self.registry.register(self._views)
        self._projector = projector

    def count_webhook(self, kind: str, outcome: str) -> None:
        """Count one webhook request; ``kind`` comes from the URL, so it is bounded here."""
        self.webhooks.labels(kind if kind in ("workflow", "rule") else "other", outcome).inc()

    async def render(self) -> bytes:
        """The text exposition, with the views' lag asked of Kafka just now."""
        running = self._projector()
        if running is not None:
            try:
                self._views.lag = await running.lag()
            except Exception:  # a scrape reports what it can; Kafka may be away
                self._views.lag = []
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, route, str(status["code"])).inc()
            self.metrics.duration.labels(method, route).observe(time.perf_counter() - started)


def _route(scope: dict[str, Any] | Any) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"
