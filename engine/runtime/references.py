"""Human reference numbers for cases: PREFIX-YYYYMMDD-NNNN, counted per prefix and local day."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.clock import LOCAL_TZ
from engine.store.models import ReferenceCounter


def next_reference(session: Session, prefix: str, moment: datetime) -> str:
    """Hand out the next number of the day atomically (an upsert, safe under concurrency)."""
    day = moment.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = (
        dialect.insert(ReferenceCounter)
        .values(prefix=prefix, day=day, last=1)
        .on_conflict_do_update(
            index_elements=["prefix", "day"], set_={"last": ReferenceCounter.last + 1})
        .returning(ReferenceCounter.last)
    )
    number = session.execute(stmt).scalar_one()
    return f"{prefix}-{day}-{number:04d}"
