"""What the operators' checks read: each timer worker's last sign of life."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class WorkerHeartbeat(Base):
    """One row per timer worker (host and process), touched every pass of its loop, so
    `/healthz` can tell a load balancer or a monitor how long ago any worker was alive."""

    __tablename__ = "worker_heartbeat"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)  # host:pid:thread
    beat_at: Mapped[datetime]
    pid: Mapped[int] = mapped_column(Integer)
