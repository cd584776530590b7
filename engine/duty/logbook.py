"""《值班记录》, the duty log of one shift (004 4.1.8), and the shift's duty report (004 part 1, 5.).

Entries are audit events (engine/duty/journal.py): they can be neither altered nor removed,
a correction is a new entry citing the one it corrects, and once the shift is closed its
log takes nothing more. Cases the clerk worked on during the shift, and the calls the phone
system reported, appear in it without being written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit.events import EventType
from engine.duty import journal
from engine.duty.oncall import desk_shift
from engine.duty.policy import duty_policy
from engine.errors import FieldError, FormInvalid, NotFound, Refused
from engine.store.models import DutyShift, Event, Instance

TEXT_LIMIT = 2000
CHECKED_WITHIN = timedelta(days=7)  # a daily check lists the logs since the last one: days, not weeks


@dataclass(frozen=True)
class LogEntry:
    id: int
    at: datetime
    actor: str
    happened: str
    done: str
    evidence: str
    corrects: int | None
    corrected_by: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Call:
    at: datetime
    rings: int | None
    caller: str
    source: str
    late: bool  # answered after more rings than the site allows (4.1.5)


@dataclass(frozen=True)
class Check:
    """The supervisor's signature on the log (004 4.3), from the daily check that listed it."""

    reference: str
    at: datetime
    by: str
    signature: str


@dataclass(frozen=True)
class ShiftLog:
    shift: DutyShift
    entries: list[LogEntry]
    calls: list[Call]
    cases: list[tuple[str, str, str | None]]  # reference, process, summary
    closed: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def late_calls(self) -> int:
        return sum(1 for c in self.calls if c.late)

    def report(self) -> dict:
        """The duty report's figures (004 part 1, 5.)."""
        return {"entries": len(self.entries), "corrections": sum(1 for e in self.entries if e.corrects),
                "calls": len(self.calls), "late_calls": self.late_calls, "cases": [c[0] for c in self.cases]}


def write_entry(runtime, shift_id: int, actor: str, happened: str, done: str, evidence: str = "",
                corrects: int | None = None) -> int:
    """Add an entry to the log of the clerk's own open shift; return its event id."""
    texts = {"happened": happened.strip(), "done": done.strip(), "evidence": evidence.strip()}
    errors = [FieldError(name, "too long", "内容过长", "Too long") for name, text in texts.items()
              if len(text) > TEXT_LIMIT]
    if not texts["happened"]:
        errors.append(FieldError("happened", "say what happened", "请填写值班情况", "Say what happened"))
    if errors:
        raise FormInvalid(errors)
    with runtime.transaction() as session:
        shift = _open_shift(session, shift_id)
        if actor != shift.username:
            raise Refused("only the clerk on duty writes this shift's log", "只有本班值班人可以填写本班值班记录")
        element = journal.shift_element(shift.id)
        if corrects is not None and corrects not in {e.id for e in journal.events_of(
                session, element, EventType.DUTY_LOG_ENTRY)}:
            raise FormInvalid([FieldError("corrects", "not an entry of this log", "更正的不是本班的记录",
                                          "Not an entry of this log")])
        return journal.record(session, clock.now(), EventType.DUTY_LOG_ENTRY, actor, element,
                              {**texts, **({"corrects": corrects} if corrects is not None else {})})


def record_call(runtime, site: str, rings: int | None, caller: str, source: str, actor: str) -> int:
    """A call the desk answered, on the log of the desk shift now on duty; return the shift id."""
    if rings is not None and (not isinstance(rings, int) or isinstance(rings, bool) or not 0 < rings < 100):
        raise FormInvalid([FieldError("rings", "rings must be a whole number from 1 to 99",
                                      "响铃次数应为 1–99 的整数", "Rings must be a whole number from 1 to 99")])
    with runtime.transaction() as session:
        now = clock.now()
        shift = desk_shift(session, site, now)
        if shift is None:
            raise NotFound(f"nobody is on the roster at {site} now")
        _open_shift(session, shift.id)
        journal.record(session, now, EventType.CALL_ANSWERED, actor, journal.shift_element(shift.id),
                       {"rings": rings, "caller": caller[:100], "source": source})
        return shift.id


def shift_log(session: Session, shift_id: int) -> ShiftLog:
    """The whole log of a shift: entries with their corrections, calls and the cases worked on."""
    shift = session.get(DutyShift, shift_id)
    if shift is None:
        raise NotFound(f"no shift {shift_id}")
    allowed = duty_policy(session, shift.site).three_rings
    entries, calls = [], []
    for event in journal.events_of(session, journal.shift_element(shift.id),
                                   EventType.DUTY_LOG_ENTRY, EventType.CALL_ANSWERED):
        data = event.data or {}
        if event.type == EventType.CALL_ANSWERED:
            rings = data.get("rings")
            calls.append(Call(event.at, rings, data.get("caller", ""), data.get("source", ""),
                              rings is not None and rings > allowed))
        else:
            entries.append(LogEntry(event.id, event.at, event.actor, data.get("happened", ""), data.get("done", ""),
                                    data.get("evidence", ""), data.get("corrects")))
    by_id = {e.id: e for e in entries}
    for entry in entries:
        if entry.corrects in by_id:
            by_id[entry.corrects].corrected_by.append(entry.id)
    return ShiftLog(shift, entries, calls, cases_in_shift(session, shift), shift.closed_at is not None,
                    checks_of(session, shift))


def cases_in_shift(session: Session, shift: DutyShift) -> list[tuple[str, str, str | None]]:
    """The cases the clerk on the shift acted on during it, in the order first touched."""
    rows = session.execute(select(Instance.reference, Instance.process_id, Instance.summary, Event.id)
                           .join(Event, Event.instance_id == Instance.id)
                           .where(Event.actor == shift.username, Event.at >= shift.starts_at,
                                  Event.at < shift.ends_at, Instance.site == shift.site)
                           .order_by(Event.id)).all()
    return list(dict.fromkeys((r.reference, r.process_id, r.summary) for r in rows))


def checks_of(session: Session, shift: DutyShift) -> list[Check]:
    """The daily checks that listed this shift's log and were signed (the week after it ended)."""
    policy = duty_policy(session, shift.site)
    started = session.execute(select(Event.instance_id, Event.data).join(Instance, Instance.id == Event.instance_id)
                              .where(Instance.process_id == policy.check_process, Instance.site == shift.site,
                                     Event.type == EventType.INSTANCE_STARTED, Event.at >= shift.ends_at,
                                     Event.at < shift.ends_at + CHECKED_WITHIN)).all()
    listing = [case for case, data in started
               if shift.id in {log.get("shift") for log in (data or {}).get("data", {}).get("duty_logs", [])}]
    signed = session.execute(select(Instance.reference, Event.at, Event.actor, Event.data)
                             .join(Instance, Instance.id == Event.instance_id)
                             .where(Event.instance_id.in_(listing), Event.type == EventType.TASK_COMPLETED)
                             .order_by(Event.id)).all() if listing else []
    return [Check(r.reference, r.at, r.actor, (r.data or {}).get("submitted", {}).get("supervisor_signature", ""))
            for r in signed]


def close_shift(session: Session, shift: DutyShift, now: datetime) -> dict:
    """Close the shift's log (read-only from now on) and record its duty report; return the figures."""
    figures = shift_log(session, shift.id).report()
    shift.closed_at = now
    journal.record(session, now, EventType.SHIFT_CLOSED, "system", journal.shift_element(shift.id), figures)
    return figures


def _open_shift(session: Session, shift_id: int) -> DutyShift:
    shift = session.get(DutyShift, shift_id, with_for_update=True)  # closing waits for an entry in hand
    if shift is None:
        raise NotFound(f"no shift {shift_id}")
    if shift.closed_at is not None:
        raise Refused("this shift is closed: its duty log is read-only (004 4.1.8)", "本班已结束，值班记录只读，不得涂改")
    if clock.now() < shift.starts_at:
        raise Refused("this shift has not begun", "本班尚未开始")
    return shift
