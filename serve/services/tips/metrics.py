"""Tip-off and public-page metrics on the app's Prometheus registry.

Counters count events as they happen (tips received, checks by outcome, requests refused by
the rate limits, honeypot hits). The office's numbers (tips by outcome, share confirmed,
median time to first check, rewards paid) are read from the database at each scrape by a
collector, so they are right after a restart and never drift from the records.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ...metrics import Metrics

log = logging.getLogger("plantscout.serve.tips")
_LOCK = threading.Lock()


class TipMetrics:
    def __init__(self, metrics: Metrics) -> None:
        r = metrics.registry
        self.received = Counter(
            "plantscout_tips_received_total",
            "Tips received from the public, by whether they joined an earlier tip's group.",
            ["grouped"],
            registry=r,
        )
        self.checks = Counter(
            "plantscout_public_checks_total",
            "Public 'is this a drug plant?' checks, by what the page told the person.",
            ["outcome"],
            registry=r,
        )
        self.rate_limited = Counter(
            "plantscout_public_rate_limited_total",
            "Public requests refused with 429, by kind (check, tip, read).",
            ["kind"],
            registry=r,
        )
        self.honeypot = Counter(
            "plantscout_public_honeypot_total",
            "Tip forms with the hidden field filled in (answered, not stored).",
            registry=r,
        )

    @classmethod
    def of(cls, metrics: Metrics) -> TipMetrics:
        with _LOCK:
            found = getattr(metrics, "_tip_metrics", None)
            if found is None:
                found = cls(metrics)
                metrics._tip_metrics = found  # type: ignore[attr-defined]
            return found


class OfficeNumbers(Collector):
    """Gauges read from the tips table at scrape time."""

    def __init__(self, services: Callable[[], Any]) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        services = self.services()
        if services is None:
            return
        from .stats import all_time, received_since

        try:
            with services.db.read() as session:
                totals = all_time(session)
                last_week = received_since(session, days=7)
        except Exception:  # noqa: BLE001 - a scrape must not fail because of one collector
            log.exception("tip numbers unavailable")
            return
        outcome = GaugeMetricFamily(
            "plantscout_tips", "Tips received, by decided outcome.", labels=["outcome"]
        )
        outcome.add_metric(["confirmed"], totals.confirmed)
        outcome.add_metric(["not_confirmed"], totals.not_confirmed)
        outcome.add_metric(["open"], totals.received - totals.confirmed - totals.not_confirmed)
        yield outcome
        yield GaugeMetricFamily(
            "plantscout_tips_received_7d",
            "Tips received in the last 7 days (tips per week).",
            value=last_week,
        )
        yield GaugeMetricFamily(
            "plantscout_tips_share_confirmed",
            "Confirmed / (confirmed + not confirmed), all time (NaN before any decision).",
            value=totals.share_confirmed if totals.share_confirmed is not None else float("nan"),
        )
        yield GaugeMetricFamily(
            "plantscout_tips_first_check_median_hours",
            "Median hours from a tip's receipt to the first ground check of its target.",
            value=(
                totals.median_hours_to_first_check
                if totals.median_hours_to_first_check is not None
                else float("nan")
            ),
        )
        yield GaugeMetricFamily(
            "plantscout_tips_rewards_paid", "Rewards paid, all time.", value=totals.rewards_paid
        )
        yield GaugeMetricFamily(
            "plantscout_tips_reward_yuan_paid",
            "Reward money paid, all time (yuan).",
            value=totals.reward_amount_paid,
        )

    def describe(self) -> list:
        return []  # collected lazily; nothing to check at registration


def install(metrics: Metrics, services: Callable[[], Any]) -> TipMetrics:
    """Counters plus the office-numbers collector on one app's registry."""
    tips = TipMetrics.of(metrics)
    metrics.registry.register(OfficeNumbers(services))
    return tips
