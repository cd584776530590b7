"""The case facts: each case folded from its audit events into one `case_fact` row.

`record_events` appends a step's events to the audit chain and folds the very rows
written into their facts, in the step transaction, so a fact can never disagree with
the log it comes from; `rebuild` folds the whole log
again and must give the same rows (a test holds it to that). `fold` is the one place
that says what an event means for the statistics.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from engine.audit.chain import NewEvent, append_events
from engine.definitions.rules import load_rules
from engine.stats import vocabulary as V
from engine.stats.months import month_of
from engine.store.models import CaseFact, Event, ProcessVersion

_fact = CaseFact.__table__
_FACT_COLUMNS = tuple(c.name for c in _fact.columns)
# Built once: a step runs them with its parameters only (no statement to build or cache-key).
# FOR UPDATE: a rebuild's table lock then waits for this step, or this step for the rebuild.
_SELECT_FACT = select(_fact).where(_fact.c.instance_id == bindparam("fact_id")).with_for_update()
_SELECT_FACTS = select(_fact).where(_fact.c.instance_id.in_(bindparam("ids", expanding=True))).with_for_update()
_UPDATE_FACT = update(_fact).where(_fact.c.instance_id == bindparam("fact_id"))  # SET: the columns passed


def _new_fact(instance_id: int, event: dict) -> dict:
    data = event["data"] or {}
    start = data.get("data") or {}
    process_id = event["element_id"]
    return {"instance_id": instance_id, "reference": data.get("reference") or str(instance_id),
            "process_id": process_id, "version": data.get("version") or 1,
            "site": start.get("site"), "category": _text(start.get("category")),
            "department": _text(start.get("department")) or _text(data.get("department")),  # the procedure's
            "opened_at": event["at"], "opened_month": month_of(event["at"]), "state": V.OPEN,
            "closed_at": None, "response_seconds": None, "arrival_seconds": None, "resolution_seconds": None,
            "reopened": 0, "complaint_class": None, "repair": {}, "charge": None, "fee_collected": False,
            "followup_decided": False, "followup_rate": None, "followup_sampled": False, "followup_category": None,
            "visits": 0, "satisfied_visits": 0}


def fold(fact: dict, event: dict, price) -> None:
    """Apply one event to a case's fact in place. `price(fact, item)` reads the case's price list."""
    kind, element, data, at = event["type"], event["element_id"], event["data"] or {}, event["at"]
    since_open = (at - fact["opened_at"]).total_seconds()
    if kind == V.TASK_COMPLETED:
        submitted = data.get("submitted") or {}
        if fact["response_seconds"] is None:
            fact["response_seconds"] = since_open
        if fact["arrival_seconds"] is None and V.is_arrival(element, data):
            fact["arrival_seconds"] = since_open
        if submitted.get("category") is not None:
            fact["category"] = _text(submitted["category"])
        if submitted.get("department") is not None:
            fact["department"] = _text(submitted["department"])
        if "visit_result" in submitted:
            fact["visits"] += 1
            fact["satisfied_visits"] += submitted["visit_result"] == V.SATISFIED
        kept = {k: submitted[k] for k in V.CHARGE_FIELDS if k in submitted}
        if kept:
            fact["repair"] = {**fact["repair"], **kept}
        if element == V.FEE_COLLECTED_ELEMENT or data.get("measure") == V.FEE_COLLECTED:
            fact["fee_collected"] = True
    elif kind == V.ELEMENT_COMPLETED and data.get("measure") == V.CHARGE:
        fact["charge"] = data.get("charge")  # what the diagram's script computed, recorded at the time
    elif kind == V.ELEMENT_COMPLETED and element == V.CHARGE_ELEMENT:
        fact["charge"] = _charge(fact, price)
    elif kind == V.FLOW_TAKEN:
        if data.get("source") == V.COMPLAINT_CLASS_GATEWAY and data.get("process") == "complaint":
            fact["complaint_class"] = V.COMPLAINT_CLASS_BY_TARGET.get(data.get("target"), V.VALID)
        if element in V.REOPEN_FLOWS:
            fact["reopened"] += 1
    elif kind == V.FOLLOWUP_DECIDED:
        fact["followup_decided"] = True
        fact["followup_rate"] = float(data.get("rate") or 0.0)
        fact["followup_sampled"] = bool(data.get("sampled"))
        fact["followup_category"] = _text(data.get("category"))
    elif kind == V.MIGRATED:
        fact["version"] = data.get("to_version") or fact["version"]
    elif kind == V.INSTANCE_FINISHED:
        fact["state"], fact["closed_at"], fact["resolution_seconds"] = V.COMPLETED, at, since_open
    elif kind == V.CANCELLED:
        fact["state"], fact["closed_at"] = V.CANCELLED, at


def _charge(fact: dict, price) -> float | None:
    """The charge the repair's script computes: the quote for an unlisted item, else price × quantity."""
    work = fact["repair"]
    item = work.get("corrected_item") or work.get("item")
    if item == V.UNLISTED:
        quoted = work.get("quoted_price")
        return float(quoted) if quoted is not None else None
    unit = price(fact, item) if item else None
    if unit is None or work.get("quantity") is None:
        return None
    return float(unit) * float(work["quantity"])


class PriceLists:
    """Unit prices from the price list of the process version a case ran on (cached per version)."""

    def __init__(self, conn: Connection):
        self.conn, self.cache = conn, {}

    def __call__(self, fact: dict, item: str):
        key = (fact["process_id"], fact["version"])
        if key not in self.cache:
            assets = self.conn.execute(select(ProcessVersion.assets).where(
                ProcessVersion.process_id == key[0], ProcessVersion.version == key[1])).scalar()
            self.cache[key] = _prices_of(assets or {})
        found = self.cache[key].get(item)
        return None if found is None else found.get("price")


def _prices_of(assets: dict) -> dict:
    texts = assets.get("rules") or {}
    try:
        return load_rules(texts).prices if texts else {}
    except Exception:  # noqa: BLE001 - a version without readable rules charges nothing
        return {}


def record_events(session: Session, events: list[NewEvent], at: datetime) -> None:
    """Append a case's events to the audit chain and fold them into the case facts, inside the
    caller's transaction: the one way steps and escalations write what happened to a case."""
    project_rows(session.connection(), append_events(session, events, at))


def project_rows(conn: Connection, rows: list[dict]) -> None:
    """Fold freshly appended event rows into their cases' facts (inside the step transaction)."""
    relevant = [r for r in rows if r["instance_id"] is not None and V.is_relevant(r)]
    if not relevant:
        return
    facts = _read_facts(conn, relevant)
    before = {k: dict(v, repair=dict(v["repair"])) for k, v in facts.items()}
    price = PriceLists(conn)
    for row in relevant:
        fact = facts.get(row["instance_id"])
        if row["type"] == V.INSTANCE_STARTED:
            facts[row["instance_id"]] = _new_fact(row["instance_id"], row)
        elif fact is not None:
            fold(fact, row, price)
    inserts = [f for k, f in facts.items() if k not in before]
    if inserts:
        conn.execute(insert(_fact), inserts)
    for key, fact in facts.items():
        if key in before and fact != before[key]:
            changed = {c: fact[c] for c in _FACT_COLUMNS if fact[c] != before[key][c]}
            conn.execute(_UPDATE_FACT, {"fact_id": key, **changed})


def _read_facts(conn: Connection, relevant: list[dict]) -> dict[int, dict]:
    """The stored facts of the cases these events belong to; none for a case starting in this step."""
    started = {r["instance_id"] for r in relevant if r["type"] == V.INSTANCE_STARTED}
    ids = sorted({r["instance_id"] for r in relevant} - started)
    if not ids:
        return {}
    if len(ids) == 1:  # the usual step: one case
        found = conn.execute(_SELECT_FACT, {"fact_id": ids[0]})
    else:
        found = conn.execute(_SELECT_FACTS, {"ids": ids})
    return {f.instance_id: dict(f._mapping) for f in found}


def rebuild(conn: Connection, batch: int = 5000) -> int:
    """Recompute every fact from the whole event log; return the number of cases.

    Locks the facts table first: a step folding events meanwhile waits for the rebuild (its
    fact read is FOR UPDATE), and the rebuild for a step that has folded already (steps of
    different cases share no audit lock any more). SQLite has one writer at a time anyway.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE case_fact IN EXCLUSIVE MODE")
    conn.execute(delete(_fact))
    facts: dict[int, dict] = {}
    price = PriceLists(conn)
    stmt = (select(Event.instance_id, Event.type, Event.element_id, Event.data, Event.at)
            .where(Event.instance_id.is_not(None)).order_by(Event.id).execution_options(yield_per=batch))
    for row in conn.execute(stmt):
        event = dict(row._mapping)
        if not V.is_relevant(event):
            continue
        if event["type"] == V.INSTANCE_STARTED:
            facts[event["instance_id"]] = _new_fact(event["instance_id"], event)
        elif event["instance_id"] in facts:
            fold(facts[event["instance_id"]], event, price)
    values = list(facts.values())
    for start in range(0, len(values), batch):
        conn.execute(insert(_fact), values[start:start + batch])
    return len(values)


def _text(value) -> str | None:
    return None if value is None else str(value)
