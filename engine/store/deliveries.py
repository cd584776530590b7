"""The deliveries of the notification outbox: one row per notification, channel and person
(or group robot post), with the states a delivery moves through."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, enum_type


class DeliveryState(str, enum.Enum):
    PENDING = "pending"  # due at `next_attempt_at` (a retry, or the end of quiet hours)
    SENDING = "sending"  # claimed by a worker; its outcome is not recorded yet
    SENT = "sent"
    DEAD = "dead"  # the last try failed, or it cannot succeed: dead-lettered
    UNCONFIRMED = "unconfirmed"  # a worker died while sending: never sent again, it may have arrived

    def becomes(self, new: DeliveryState) -> DeliveryState:
        """`new`, if a delivery in this state may move to it (DELIVERY_TRANSITIONS); else a bug."""
        if new not in DELIVERY_TRANSITIONS[self]:
            raise ValueError(f"a {self.value} delivery cannot become {new.value}")
        return new


DELIVERY_TRANSITIONS = {
    DeliveryState.PENDING: frozenset({DeliveryState.SENDING, DeliveryState.DEAD}),
    DeliveryState.SENDING: frozenset({DeliveryState.SENT, DeliveryState.PENDING, DeliveryState.DEAD,
                                      DeliveryState.UNCONFIRMED}),
    DeliveryState.SENT: frozenset(),
    DeliveryState.DEAD: frozenset(),
    DeliveryState.UNCONFIRMED: frozenset(),
}


class NotificationDelivery(Base):
    """One notification on one channel: to one person (email, SMS) or one group robot post."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "recipient_key"),
        Index("ix_notification_delivery_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    channel: Mapped[str] = mapped_column(String(50))  # the channel's name at the site
    channel_type: Mapped[str] = mapped_column(String(20))  # email, sms, wecom, dingtalk, feishu, log
    recipient_key: Mapped[str] = mapped_column(String(100))  # the username; "" for a group post
    recipients: Mapped[list]  # usernames it reaches (a group post @-mentions each)
    state: Mapped[DeliveryState] = mapped_column(enum_type(DeliveryState))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    held_until: Mapped[datetime | None]  # set when quiet hours held it back
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
