"""Facts about the database itself, decided once (`estatedesk init`) and kept with it."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class DatabaseSetting(Base):
    """One named fact about this database, e.g. whether it was set up with the demo accounts."""

    __tablename__ = "database_setting"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
