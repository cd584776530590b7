"""Counters of notification deliveries, in the process's default Prometheus registry.

A `/metrics` endpoint (prometheus_client's `generate_latest()`, or its own HTTP server)
exports them as they are; nothing else reads them.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter

DELIVERIES = Counter(
    "estatedesk_notification_deliveries",
    "Notification delivery outcomes by channel type: sent, failed (to be tried again), dead, unconfirmed",
    ["channel", "outcome"],
)
ALERTS = Counter(
    "estatedesk_notification_alerts",
    "Alerts to the supervisor that an emergency notification was not delivered",
)


def count(channel_type: str, outcome: str) -> None:
    DELIVERIES.labels(channel=channel_type, outcome=outcome).inc()


def delivered(channel_type: str, outcome: str) -> float:
    """The count so far of one channel type and outcome (for tests and the CLI)."""
    value = REGISTRY.get_sample_value("estatedesk_notification_deliveries_total",
                                      {"channel": channel_type, "outcome": outcome})
    return value or 0.0
