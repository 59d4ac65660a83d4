"""Prometheus metrics, one registry per app (tests build many apps in one process).

Requests are labelled by route *template* (``/v1/inspections/{inspection_id}``), never by raw
path, so label cardinality stays fixed whatever ids clients send.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "plantscout_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "plantscout_http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "plantscout_http_requests_in_flight", "Requests being served.", registry=r
        )
        self.scores = Counter(
            "plantscout_scores_total",
            "Photos scored, by verdict and endpoint.",
            ["verdict", "endpoint"],
            registry=r,
        )
        self.inspections = Counter(
            "plantscout_inspections_created_total",
            "Inspections filed, by combined verdict.",
            ["verdict"],
            registry=r,
        )
        self.idempotent_replays = Counter(
            "plantscout_inspection_replays_total",
            "Inspection uploads recognised as retries of an already filed record.",
            registry=r,
        )
        self.model_info = Gauge(
            "plantscout_model_info",
            "The model bundle in use (value 1).",
            ["name", "version", "sha256"],
            registry=r,
        )
        self.orphans_swept = Counter(
            "plantscout_orphan_photos_swept_total",
            "Unreferenced photo files removed.",
            registry=r,
        )

    def set_model(self, identity: dict[str, str]) -> None:
        self.model_info.clear()
        self.model_info.labels(identity["name"], identity["version"], identity["sha256"]).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
