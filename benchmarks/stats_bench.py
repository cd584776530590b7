"""How long does one site-month of statistics take with 100,000 cases stored?

Issue #7: "With 100,000 cases stored, the dashboard for one site and month renders in
well under a second." The dashboard's main call is `month_kpis` for one site and one
month; it also draws `monthly_trend`, a `response_histogram` and, on a click,
`cases_behind` one number.

The store is prepared on a temporary SQLite file (and, when DATABASE_URL names
PostgreSQL, in a temporary schema). First a handful of real cases run through the
runtime on a fake clock with the project's library: repairs (paid, late and reopened,
open, cancelled), complaints of the three classes, help requests of two categories.
Their rows (instance, human_task, sla_clock, case_fact) are then bulk-copied with Core
inserts, each copy shifted in time to a random moment of the 13 months up to
November 2026 and put at one of two sites, until the store holds 10,000 cases, and
later 100,000. Cases opened over 45 days before the as-of moment copy a closed case
97 % of the time, as a centre closes nearly all its cases within weeks. Events are not
copied, and `--quick` also leaves out the serialized workflow of the copies (~9 kB a
case, 1 GB at 100,000): the statistics read neither.

At each size the calls are timed (median of several runs, `time.perf_counter()`) for
site `nanshan`, month 2026-10 (about 4,000 cases of the 100,000), as of 5 December 2026.
The last line is machine-readable:

    STATS month_kpis_ms_100k=X growth_10k_to_100k=Y.YY

where X is the median month_kpis time at 100,000 cases (SQLite) and growth is that
median over the median at 10,000. Target (printed, not asserted): X <= 300 ms.

Run from the project root:

    .venv/bin/python benchmarks/stats_bench.py            # full run (PostgreSQL too when DATABASE_URL is set)
    .venv/bin/python benchmarks/stats_bench.py --quick    # about a minute (mostly the fill), SQLite only
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

from engine_bench import ROOT, postgres_url, temp_database
from sqlalchemy import func, insert, select

from engine.accounts.users import load_demo_staff
from engine.clock import FakeClock
from engine.definitions.library import deploy_bundle, read_bundle
from engine.definitions.rules import load_rules
from engine.runtime.step import Runtime
from engine.stats import StatsQuery, cases_behind, month_kpis, monthly_trend, response_histogram
from engine.stats.months import month_of
from engine.store.models import CaseFact, HumanTask, Instance, SlaClock

SIZES = (10_000, 100_000)
SITES = ("nanshan", "binhai")
FIRST_DAY = datetime(2025, 11, 1, tzinfo=timezone.utc)
SPREAD_DAYS = 395  # 13 months: November 2025 to November 2026
NOW = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
QUERY = StatsQuery("2026-10", site="nanshan")
TARGET_MS = 300.0
OLD_CLOSED = 0.97
INSERT_BATCH = 5000
QUICK_STATE = "{}"  # --quick: copies without the ~9 kB serialized workflow (statistics never read it)
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)

ORDER = dict(order_no="WX-1102-01", resident="林先生", unit="5栋3楼302", phone="13800000000", problem="厨房水龙头漏水",
             item="replace_faucet", timing="now", public_facility=False)
CHECK = dict(actual_problem="阀芯损坏", corrected_item="replace_faucet", price_shown=True,
             resident_agrees=True, material_supplied=False)
SIGNED = dict(tested=True, resident_present=True, resident_name="林先生", satisfied="satisfied",
              resident_signature="data:image/png;base64,iVBORw0KGgo=", copy1_given=True)
VISIT_OK = dict(visit_mode="door", resident_signature=True, visit_result="satisfied")
VISIT_BAD = dict(visit_mode="phone", phone_visit_mark="电话回访", visit_result="dissatisfied", visit_notes="仍滴水")
INTAKE = dict(complainant="林先生", unit="3栋12楼1203", phone="13800000000", anonymous=False, subject="投诉",
              description="投诉内容", department="engineering", serious=False, repeated_back=True,
              reported_to_head=True)
TRACKED = dict(signed_order_returned=True, completed_on_time=True, complainant_informed=True, result="已处理")
RESULT = dict(result_recorded="已处理，投诉人确认", complainant_signed=True, rating="satisfied", severity="ordinary")
CALLER = dict(caller="林先生", unit="3-2-1201", phone="13800000000")


# -- template cases, run through the runtime ----------------------------------------------------

class Templates:
    """Real cases on a fake clock; `ids` are the cases whose rows get copied."""

    def __init__(self, runtime: Runtime):
        self.runtime, self.clock, self.ids = runtime, runtime.clock, []

    def start(self, process_id: str, data: dict) -> int:
        case = self.runtime.start_instance(process_id, data, "reception1").instance.id
        self.ids.append(case)
        return case

    def complete(self, case: int, element_id: str, user: str, minutes: float = 3, **form) -> None:
        self.clock.advance(minutes=minutes)
        self.runtime.complete_task(self.open_task(case, element_id).id, form, user)

    def open_task(self, case: int, element_id: str) -> HumanTask | None:
        with self.runtime.db.session() as session:
            return session.scalars(select(HumanTask).where(HumanTask.instance_id == case,
                                                           HumanTask.element_id == element_id,
                                                           HumanTask.completed_at.is_(None))).one_or_none()

    def visit(self, case: int, element_id: str, **form) -> bool:
        """Complete the follow-up visit a day later, if the case's draw gave it one."""
        if self.open_task(case, element_id) is None:
            return False  # the follow-up draw passed this reference over
        self.complete(case, element_id, "reception1", minutes=60 * 24, **form)
        # the CS supervisor checks the assistant's visit and signs (001/第2篇 1.8)
        self.complete(case, "check_visit", "supervisor1", minutes=60, check_opinion="回访记录完整", signed=True)
        return True

    def repair(self, arrive_after: float, visits: tuple, quantity: int = 1) -> None:
        case = self.start("repair", {})
        self.complete(case, "write_order", "reception1", **ORDER)
        self.complete(case, "notify_engineering", "reception1", engineering_notified=True, notified_person="周工")
        self.complete(case, "assign_technician", "engsup1", minutes=1, technician="tech1")
        self.complete(case, "arrive_now", "tech1", minutes=arrive_after, arrived_at="2026-11-02T09:10:00+08:00")
        self.complete(case, "check_order", "tech1", **CHECK)
        self.complete(case, "do_repair", "tech1", minutes=40, quantity=quantity, repair_notes="更换水龙头")
        self.complete(case, "resident_sign", "tech1", **SIGNED)
        self.complete(case, "return_copies", "tech1", copies_returned=True)
        self.complete(case, "confirm_copies", "engsup1", order_confirmed=True, copy4_kept=True, passed_to_desk=True)
        self.complete(case, "return_order", "reception1", order_returned=True, copy2_kept=True)
        self.complete(case, "send_copy3", "reception1", copy3_sent=True)
        self.complete(case, "collect_fee", "finance1", collected_with="management_fee")
        for visit in visits:
            if not self.visit(case, "visit_repair", **visit):
                return
            if visit["visit_result"] == "dissatisfied":
                self.complete(case, "rectify", "engsup1", minutes=120, rectification="更换密封圈")

    def complaint(self, basis: str) -> int:
        case = self.start("complaint", {"complainant": "林先生"})
        promised = (self.clock.now() + timedelta(days=2)).isoformat()  # 003 5.2: told at intake
        self.complete(case, "intake", "reception1", minutes=2, **dict(INTAKE, basis=basis, promised_time=promised))
        return case

    def help_request(self, category: str, description: str) -> int:
        case = self.start("help_request", dict(CALLER, category=category, description=description))
        self.complete(case, "register_request", "reception1", **CALLER, category=category,
                      description=description, received_at=T0.isoformat())
        return case


def run_templates(runtime: Runtime) -> list[int]:
    t = Templates(runtime)
    runtime.clock.set(T0)
    t.repair(arrive_after=5, visits=(VISIT_OK,), quantity=2)
    t.repair(arrive_after=25, visits=(VISIT_BAD, VISIT_OK))
    t.repair(arrive_after=8, visits=())
    case = t.start("repair", {})
    t.complete(case, "write_order", "reception1", **ORDER)
    t.start("repair", {})  # still at write_order
    cancelled = t.start("repair", {})
    runtime.cancel_instance(cancelled, "住户已自行修好", "supervisor1")
    valid = t.complaint("ignored_after_two_reminders")
    t.complete(valid, "quote_repair", "reception1", agreement="not_needed")
    t.complete(valid, "track_repair_order", "reception1", minutes=60 * 30, **TRACKED)  # its repair is a case
    t.complete(valid, "record_result", "reception1", **RESULT)
    t.visit(valid, "visit_ordinary", **VISIT_OK, visit_notes="满意")
    assistance = t.complaint("other_resident_violation")
    t.complete(assistance, "assist_other_party", "reception1", explained=True, other_party="15楼",
               party_contacted=True, feedback="已联系")
    excessive = t.complaint("facility_not_in_plan")
    t.complete(excessive, "explain_excessive", "reception1", explained=True, explanation="已解释")
    t.help_request("repair", "厨房水龙头漏水")
    other = t.help_request("other", "家中老人被反锁在门外，请求借用梯子")
    t.complete(other, "handle_other", "reception1", other_outcome="ask_supervisor")
    runtime.clock.advance(days=2)  # open clocks run past their limits
    return t.ids


# -- the bulk copy ------------------------------------------------------------------------------

TABLES = {"instance": Instance.__table__, "human_task": HumanTask.__table__, "sla_clock": SlaClock.__table__,
          "case_fact": CaseFact.__table__}


def read_templates(db, ids: list[int]) -> list[dict]:
    """Each template case's rows, by table."""
    out = []
    with db.engine.connect() as conn:
        for case in ids:
            rows = {}
            for name, table in TABLES.items():
                column = table.c.id if name == "instance" else table.c.instance_id
                rows[name] = [dict(r._mapping) for r in conn.execute(select(table).where(column == case))]
            out.append(rows)
    return out


def _shifted(row: dict, delta: timedelta, **changes) -> dict:
    out = {k: (v + delta if isinstance(v, datetime) else v) for k, v in row.items()}
    out.update(changes)
    return out


def pick_template(templates: list[dict], rng: random.Random) -> tuple[dict, datetime]:
    """A template and the moment its copy opens: cases opened over 45 days ago are nearly all closed."""
    opened = FIRST_DAY + timedelta(seconds=rng.uniform(0, SPREAD_DAYS * 86400))
    if NOW - opened > timedelta(days=45) and rng.random() < OLD_CLOSED:
        templates = [t for t in templates if t["case_fact"][0]["state"] != "open"]
    return rng.choice(templates), opened


def copy_case(template: dict, opened: datetime, case_id: int, clock_id: int, rng: random.Random, rows: dict,
              state_json: str | None) -> int:
    """Append one copy of a template case at a random site, opened at `opened`; return the next clock id."""
    fact = template["case_fact"][0]
    delta, site = opened - fact["opened_at"], rng.choice(SITES)
    reference = f"BS-{case_id:09d}"
    instance = _shifted(template["instance"][0], delta, id=case_id, reference=reference, site=site)
    if state_json is not None:
        instance["state_json"] = state_json
    rows["instance"].append(instance)
    rows["case_fact"].append(_shifted(fact, delta, instance_id=case_id, reference=reference, site=site,
                                      opened_month=month_of(opened)))
    task_ids = {}
    for task in template["human_task"]:
        task_ids[task["id"]] = str(uuid.uuid4())
        rows["human_task"].append(_shifted(task, delta, id=task_ids[task["id"]], instance_id=case_id))
    for clock in template["sla_clock"]:
        rows["sla_clock"].append(_shifted(clock, delta, id=clock_id, instance_id=case_id,
                                          task_id=task_ids[clock["task_id"]]))
        clock_id += 1
    return clock_id


def fill(db, templates: list[dict], target: int, rng: random.Random, state_json: str | None = None) -> None:
    """Copy template cases until the store holds `target` cases (`state_json`: instead of the template's)."""
    with db.engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Instance))
        case_id = (conn.scalar(select(func.max(Instance.id))) or 0) + 1
        clock_id = (conn.scalar(select(func.max(SlaClock.id))) or 0) + 1
    remaining = target - stored
    while remaining > 0:
        chunk = min(remaining, 10_000)
        rows = {name: [] for name in TABLES}
        for _ in range(chunk):
            template, opened = pick_template(templates, rng)
            clock_id = copy_case(template, opened, case_id, clock_id, rng, rows, state_json)
            case_id += 1
        with db.engine.begin() as conn:
            for name, table in TABLES.items():
                for start in range(0, len(rows[name]), INSERT_BATCH):
                    conn.execute(insert(table), rows[name][start:start + INSERT_BATCH])
        remaining -= chunk
    if db.is_postgres:  # as autovacuum would after such a load
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")


# -- timing -------------------------------------------------------------------------------------

def median_ms(call, runs: int) -> float:
    call()  # warm-up: compiled statements, page cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def time_calls(db, runs: int) -> dict[str, float]:
    def timed(fn):
        def call():
            with db.session() as session:
                return fn(session)
        return median_ms(call, runs)

    drill = {"target": "repair.arrive_now", "sla": "breached"}
    return {
        "month_kpis": timed(lambda s: month_kpis(s, QUERY, NOW)),
        "monthly_trend": timed(lambda s: monthly_trend(s, QUERY.site, NOW, months=12, last_month=QUERY.month)),
        "response_histogram": timed(lambda s: response_histogram(s, QUERY, "repair.arrive_now", NOW)),
        "cases_behind": timed(lambda s: cases_behind(s, QUERY, drill, NOW)),
    }


def describe_store(db) -> str:
    with db.session() as s:
        cases = s.scalar(select(func.count()).select_from(CaseFact))
        month = s.scalar(select(func.count()).select_from(CaseFact).where(*QUERY.conditions()))
        clocks = s.scalar(select(func.count()).select_from(SlaClock).join(
            CaseFact, CaseFact.instance_id == SlaClock.instance_id).where(*QUERY.conditions()))
    return f"{cases:,} cases stored; {QUERY.site} {QUERY.month}: {month:,} cases, {clocks:,} SLA clocks"


def bench(kind: str, runs: int, quick: bool) -> dict[int, dict[str, float]]:
    results = {}
    with temp_database(kind) as db:
        library = read_bundle(ROOT / "processes", ROOT / "forms")
        runtime = Runtime(db, FakeClock())
        with runtime.transaction() as session:
            load_demo_staff(session, load_rules(library.rules))
            deploy_bundle(session, library, actor="designer1", note="benchmark")
        templates = read_templates(db, run_templates(runtime))
        rng = random.Random(7)
        for size in SIZES:
            began = time.perf_counter()
            fill(db, templates, size, rng, QUICK_STATE if quick else None)
            print(f"  {kind}: filled to {size:,} in {time.perf_counter() - began:.1f} s; {describe_store(db)}")
            results[size] = time_calls(db, runs)
            print("    " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in results[size].items()))
    return results


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="SQLite only, fewer runs: about a minute")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    runs = 5 if args.quick else 15
    kinds = ["sqlite"] + ([] if args.quick or not postgres_url() else ["postgresql"])
    began = time.perf_counter()
    print(f"EstateDesk statistics benchmark: {QUERY.site} {QUERY.month}, median of {runs} runs"
          f"{' [--quick]' if args.quick else ''}")
    print(f"  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start"
          " (other work on the machine skews the figures)")
    results = {kind: bench(kind, runs, args.quick) for kind in kinds}
    small, large = SIZES
    for kind, by_size in results.items():
        growth = by_size[large]["month_kpis"] / by_size[small]["month_kpis"]
        print(f"  {kind}: month_kpis {by_size[large]['month_kpis']:.1f} ms at {large:,} cases, "
              f"growth {small:,} -> {large:,}: {growth:.2f}")
    at_large = results["sqlite"][large]["month_kpis"]
    growth = at_large / results["sqlite"][small]["month_kpis"]
    print(f"\nSummary (SQLite): month_kpis {at_large:.1f} ms at {large:,} cases (target <= {TARGET_MS:.0f} ms: "
          f"{'met' if at_large <= TARGET_MS else 'NOT met'}); total time {time.perf_counter() - began:.1f} s")
    print(f"STATS month_kpis_ms_100k={at_large:.1f} growth_10k_to_100k={growth:.2f}")


if __name__ == "__main__":
    main()
