"""The one way the duty desk writes to the audit chain.

Every duty event goes through `record`, which chooses its chain here and nowhere else: one
chain per shift's log or roster month (`duty:shift:<id>`, `duty:roster:<site>:<month>`), so a
night clerk's entries never wait on another site's steps, and tearing a page out of one log
breaks that log's chain.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.chain import NewEvent, append_events
from engine.audit.events import EventType
from engine.store.models import AuditChain, Event


def shift_element(shift_id: int) -> str:
    return f"shift:{shift_id}"


def roster_element(site: str, month: str) -> str:
    return f"roster:{site}:{month}"


def record(session: Session, at: datetime, type_: EventType, actor: str, element: str, data: dict) -> int:
    """Append one duty event (no case) inside the caller's transaction; return its id."""
    chain = f"duty:{element}"
    append_events(session, [NewEvent(type_, None, actor, element, data, chain=chain)], at)
    # The chain's head stays locked until commit, so the event it names is the one just written.
    return session.connection().execute(select(AuditChain.last_event_id).where(AuditChain.chain == chain)).scalar_one()


def events_of(session: Session, element: str, *types: EventType) -> list[Event]:
    """The duty events of one roster or shift, oldest first."""
    stmt = select(Event).where(Event.instance_id.is_(None), Event.element_id == element)
    if types:
        stmt = stmt.where(Event.type.in_([str(t) for t in types]))
    return list(session.scalars(stmt.order_by(Event.id)))
