"""The month's follow-up tally per site and kind: how many cases were decided, how many sampled.

The quota draw (engine/policy/followup.py) needs, at each decision, how many cases of the
month came before and how many of those were sampled. The upsert takes the row lock, so
two cases decided at once at the same site queue here and never both see the same count.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import String

from engine.store.base import Base


class FollowupTally(Base):
    """Per site, kind of visit and local month (2026-12): cases decided and cases sampled so far."""

    __tablename__ = "followup_tally"

    site: Mapped[str] = mapped_column(String(50), primary_key=True)
    category: Mapped[str] = mapped_column(String(50), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    decided: Mapped[int] = mapped_column(default=0)
    sampled: Mapped[int] = mapped_column(default=0)


class SessionTally:
    """The tally as the step transaction keeps it: rolled back with the step that drew."""

    def __init__(self, session: Session):
        self.session = session

    def take(self, site: str, category: str, month: str) -> tuple[int, int]:
        """Count one more decision; return (its ordinal in the month, cases sampled before it)."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = (
            dialect.insert(FollowupTally)
            .values(site=site, category=category, month=month, decided=1, sampled=0)
            .on_conflict_do_update(index_elements=["site", "category", "month"],
                                   set_={"decided": FollowupTally.decided + 1})
            .returning(FollowupTally.decided, FollowupTally.sampled)
        )
        decided, sampled = self.session.execute(stmt).one()
        return decided, sampled

    def mark_sampled(self, site: str, category: str, month: str) -> None:
        self.session.execute(update(FollowupTally).where(
            FollowupTally.site == site, FollowupTally.category == category, FollowupTally.month == month,
        ).values(sampled=FollowupTally.sampled + 1))
