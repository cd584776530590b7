"""The step and timer measurements `/metrics` exports (Prometheus), and the gauges read from the
database when scraped.

Counters and histograms live in prometheus_client's default registry; with several server
processes, PROMETHEUS_MULTIPROC_DIR makes each process write them to a shared folder that
`/metrics` adds up (web/operations.py). The gauges (overdue tasks, outbox backlog) are one
query each, made at scrape time, so every process answers the same.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from engine.errors import ConflictError, EngineError
from engine.store.db import Database
from engine.store.deliveries import DeliveryState, NotificationDelivery
from engine.store.models import HumanTask, TaskStatus

STEPS = Counter("estatedesk_steps", "Steps run, by kind and outcome (ok, conflict, refused, error)",
                ["step", "outcome"])
CONFLICTS = Counter("estatedesk_conflicts", "Steps that lost a race and answered 409 after their retries",
                    ["step"])
STEP_SECONDS = Histogram("estatedesk_step_seconds", "Time a step took, retries included", ["step"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
TIMER_LATENESS = Histogram("estatedesk_timer_lateness_seconds", "How long after its due time a timer fired",
                           buckets=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0))


def step_finished(step: str, seconds: float, error: BaseException | None) -> None:
    """Count one step; `error` is what it raised, if anything."""
    if error is None:
        outcome = "ok"
    elif isinstance(error, ConflictError):
        outcome = "conflict"
        CONFLICTS.labels(step=step).inc()
    elif isinstance(error, EngineError):
        outcome = "refused"  # a bad form, a missing right, a finished task: answered, not a fault
    else:
        outcome = "error"
    STEPS.labels(step=step, outcome=outcome).inc()
    STEP_SECONDS.labels(step=step).observe(seconds)


def timer_fired(lateness_seconds: float) -> None:
    TIMER_LATENESS.observe(max(0.0, lateness_seconds))


class DatabaseGauges:
    """A collector for the gauges that are facts of the database, not of one process."""

    def __init__(self, db: Database, now: datetime):
        self.db, self.now = db, now

    def collect(self):
        open_tasks = HumanTask.status.in_((TaskStatus.READY, TaskStatus.CLAIMED))
        waiting = NotificationDelivery.state.in_((DeliveryState.PENDING, DeliveryState.SENDING))
        with self.db.read_session() as session:
            overdue = session.scalar(select(func.count(HumanTask.id)).where(open_tasks, HumanTask.due_at < self.now))
            backlog = session.scalar(select(func.count(NotificationDelivery.id)).where(waiting))
        yield GaugeMetricFamily("estatedesk_overdue_tasks", "Open tasks past their due time", value=overdue)
        yield GaugeMetricFamily("estatedesk_outbox_backlog", "Notification deliveries not yet sent", value=backlog)
