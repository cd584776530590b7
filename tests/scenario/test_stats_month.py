"""Monthly statistics (issue #7) over a known month of real cases run on a fake clock:
each KPI asserted exactly, the facts rebuilt from the log equal the incremental ones,
and a later SLA policy change leaves the past month's results as they were."""

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine.definitions.library import deploy_bundle
from engine.errors import BadInput
from engine.stats import (
    StatsQuery,
    Text,
    cases_behind,
    cell_drill,
    month_kpis,
    monthly_trend,
    rebuild,
    response_histogram,
)
from engine.stats.names import Names
from engine.store.models import CaseFact
from tests.databases import DEPLOYED, Seed, seeds_fixture
from tests.scenario.conftest import Case
from tests.scenario.test_repair import CHECKED

NOV = StatsQuery("2026-11", site="nanshan")
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=timezone.utc)  # Monday 09:00 in Shenzhen
LATER = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
ORDER = dict(order_no="WX-1102-01", resident="林先生", unit="5栋3楼302", phone="13800000000", problem="厨房水龙头漏水",
             item="replace_faucet", timing="now", public_facility=False)
NOTIFY = dict(engineering_notified=True, notified_person="周工")
CHECK = dict(actual_problem="阀芯损坏", corrected_item="replace_faucet", price_shown=True,
             resident_agrees=True, material_supplied=False)
DOOR_OK = dict(visit_mode="door", resident_signature=True, visit_result="satisfied")
SIGNED = dict(tested=True, resident_present=True, resident_name="林先生", satisfied="satisfied",
              resident_signature="data:image/png;base64,iVBORw0KGgo=", copy1_given=True)
PHONE_BAD = dict(visit_mode="phone", phone_visit_mark="电话回访", visit_result="dissatisfied", visit_notes="仍滴水")
INTAKE = dict(complainant="林先生", unit="3栋12楼1203", phone="13800000000", anonymous=False, subject="投诉",
              description="投诉内容", basis="ignored_after_two_reminders", department="engineering",
              serious=False, repeated_back=True, reported_to_head=True)
HANDLED = dict(result="已处理", reported_to_reception=True)
RESULT = dict(result_recorded="已处理，投诉人确认", complainant_signed=True, rating="satisfied", severity="ordinary")


def visiting_every_case(library):
    """The library with follow-up rates of 100 %: every closed complaint and repair is
    drawn for a visit, so the month's visits do not hang on which references were drawn."""
    followup = library.rules["followup.yaml"]
    already = followup.count("100%")  # the planned kinds of 1.6 are visited in full anyway
    for category, rate in (("complaint", "50%"), ("repair", "30%")):
        followup = followup.replace(f"  {category}: {rate}", f"  {category}: 100%")
    assert followup.count("100%") == already + 2
    return replace(library, rules={**library.rules, "followup.yaml": followup})


def repair(start_case, clock, quantity=1, arrive_after=5, visits=(DOOR_OK,)):
    case = start_case("repair", {}, as_user="reception1")
    clock.advance(minutes=1)
    case.complete("write_order", "reception1", **ORDER)
    clock.advance(minutes=1)
    case.complete("notify_engineering", "reception1", **NOTIFY)
    case.complete("assign_technician", "engsup1", technician="tech1")
    clock.advance(minutes=arrive_after)
    case.complete("arrive_now", "tech1", arrived_at=clock.now().isoformat())  # arrivals are never in the future
    case.complete("check_order", "tech1", **CHECK)
    case.complete("do_repair", "tech1", quantity=quantity, repair_notes="更换水龙头")
    case.complete("resident_sign", "tech1", **SIGNED)
    # 001/第8篇 4.1 7): the copies back the same day, the order closed, copy 3 to finance, then the charge
    case.complete("return_copies", "tech1", copies_returned=True)
    case.complete("confirm_copies", "engsup1", order_confirmed=True, copy4_kept=True, passed_to_desk=True)
    case.complete("return_order", "reception1", order_returned=True, copy2_kept=True)
    case.complete("send_copy3", "reception1", copy3_sent=True)
    case.complete("collect_fee", "finance1", collected_with="management_fee")
    for result in visits:
        case.complete("visit_repair", "reception1", **result)
        case.complete("check_visit", "supervisor1", **CHECKED)  # the supervisor checks each visit (001/第2篇 1.8)
        if result["visit_result"] == "dissatisfied":
            case.complete("rectify", "engsup1", rectification="更换密封圈")
    return case


def complaint(start_case, clock, basis, **fields):
    case = start_case("complaint", {"complainant": "林先生"}, as_user="reception1")
    clock.advance(minutes=2)
    promised = (clock.now() + timedelta(days=2)).isoformat()  # told at intake, within the 3 days
    case.complete("intake", "reception1", **dict(INTAKE, basis=basis, promised_time=promised, **fields))
    return case


def play_november(runtime, library) -> dict:
    """A known November at nanshan, a case in October still open, one in December, one at binhai."""
    clock = runtime.clock

    def start_case(process_id, data, as_user):
        result = runtime.start_instance(process_id, data, as_user)
        return Case(runtime, result.instance.id, result.instance.reference)

    with runtime.transaction() as session:
        deploy_bundle(session, visiting_every_case(library), actor="system", note="visit every case")
    cases = {}
    clock.set(datetime(2026, 10, 20, 1, 0, tzinfo=timezone.utc))
    cases["october_open"] = start_case("repair", {}, as_user="reception1")
    clock.set(T0)
    cases["paid"] = repair(start_case, clock, quantity=2)  # on time, 2 × 30 元
    clock.set(T0 + timedelta(days=1))
    cases["late"] = repair(start_case, clock, arrive_after=20, visits=(PHONE_BAD, DOOR_OK))  # late, reopened
    clock.set(T0 + timedelta(days=2))
    # environment's: an engineering complaint would run a whole repair order inside it
    cases["valid"] = complaint(start_case, clock, "ignored_after_two_reminders", department="environment")
    clock.advance(days=4)  # past the 3-day limit: the resolution is late
    cases["valid"].complete("handle_environment", "env1", **HANDLED)
    cases["valid"].complete("record_result", "reception1", **RESULT)
    cases["valid"].complete("visit_ordinary", "reception1", **DOOR_OK, visit_notes="满意")
    cases["valid"].complete("check_visit", "supervisor1", **CHECKED)
    clock.set(T0 + timedelta(days=3))
    cases["assistance"] = complaint(start_case, clock, "other_resident_violation")
    cases["assistance"].complete("assist_other_party", "reception1", explained=True, other_party="15楼",
                                 party_contacted=True, feedback="已联系")
    cases["excessive"] = complaint(start_case, clock, "facility_not_in_plan")
    cases["excessive"].complete("explain_excessive", "reception1", explained=True, explanation="已解释")
    clock.set(T0 + timedelta(days=10))
    cases["cancelled"] = start_case("repair", {}, as_user="reception1")
    runtime.cancel_instance(cases["cancelled"].instance_id, "住户已自行修好", "supervisor1")
    clock.set(datetime(2026, 11, 28, 1, 0, tzinfo=timezone.utc))
    cases["open"] = start_case("repair", {}, as_user="reception1")  # still at write_order
    clock.set(datetime(2026, 11, 2, 2, 0, tzinfo=timezone.utc))
    cases["binhai"] = start_case("repair", {"site": "binhai"}, as_user="reception2")  # its own clerk
    clock.set(datetime(2026, 12, 2, 1, 0, tzinfo=timezone.utc))
    cases["december"] = start_case("repair", {}, as_user="reception1")
    clock.set(LATER)
    return {name: (case.instance_id, case.reference) for name, case in cases.items()}


NOVEMBER = seeds_fixture("november_cases", Seed("november", play_november, base=DEPLOYED))


@pytest.fixture
def november_cases(db_copy, runtime, clock) -> dict:
    """The cases of `play_november`, by name, on the clock it ends on (played once per run)."""
    clock.set(LATER)
    return {name: Case(runtime, instance_id, reference)
            for name, (instance_id, reference) in db_copy.played[NOVEMBER.name].items()}


def kpis(runtime, query=NOV):
    with runtime.db.session() as session:
        return month_kpis(session, query, LATER)


def test_month_kpis_counted_exactly(runtime, november_cases):
    k = kpis(runtime)
    assert (k.cases, k.completed, k.cancelled, k.open, k.reopened) == (7, 5, 1, 1, 1)
    assert k.as_of == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)  # month end in Shenzhen
    # open at month end: the November case 2d 15h old, the October one 41d 15h old
    assert k.backlog == {"lt1d": 0, "1to3d": 1, "3to7d": 0, "7to30d": 0, "gt30d": 1}
    sla = {s.target: s for s in k.sla}
    assert (sla["repair.arrive_now"].met, sla["repair.arrive_now"].breached) == (1, 1)
    assert sla["repair.arrive_now"].timeliness_rate == 0.5
    assert sla["repair.arrive_now"].p50_seconds == 5 * 60 and sla["repair.arrive_now"].p90_seconds == 20 * 60
    assert sla["repair.arrive_now"].limit_seconds == 10 * 60
    assert (sla["complaint.resolve"].met, sla["complaint.resolve"].breached) == (0, 1)
    assert sla["repair.order_written"].running == 0 and sla["repair.order_written"].breached == 1  # the open case
    assert sla["repair.order_written"].cancelled == 1  # the cancelled case's clock
    met = sum(s.met for s in k.sla)
    breached = sum(s.breached for s in k.sla)
    assert k.timeliness_rate == met / (met + breached)
    # responses: repairs' orders after 1 minute (2), complaints' intakes after 2 (3); nearest rank
    assert (k.durations["response"].count, k.durations["response"].p50_seconds) == (5, 120)
    assert k.durations["response"].p90_seconds == 120
    assert k.durations["arrival"] == type(k.durations["arrival"])(2, 7 * 60, 22 * 60)
    assert k.durations["resolution"].count == 5
    assert k.complaints == {"valid": 1, "assistance": 1, "excessive": 1}
    assert k.valid_complaint_rate == pytest.approx(1 / 3)
    f = k.followup
    # the two repairs and the valid complaint reached the draw, at the month's 100 % policy
    assert (f.decided, f.policy_rate, f.sampled, f.visited, f.visit_rate) == (3, 1.0, 3, 3, 1.0)
    assert (f.visits, f.satisfied, f.satisfaction) == (4, 3, 0.75)  # 3 repair visits + 1 complaint visit
    assert (k.paid_repairs, k.revenue) == (2, 90.0)  # 2 × 30 + 1 × 30 from the price list


def test_every_number_names_its_cases(runtime, november_cases):
    k = kpis(runtime)
    with runtime.db.session() as session:
        def refs(drill):
            return {c.reference for c in cases_behind(session, NOV, drill, LATER)}

        names = {ref: key for key, case in november_cases.items() for ref in [case.reference]}
        assert {names[r] for r in refs({"sla": "breached", "target": "repair.arrive_now"})} == {"late"}
        assert {names[r] for r in refs({"reopened": "1"})} == {"late"}
        assert {names[r] for r in refs({"backlog": "gt30d"})} == {"october_open"}
        assert {names[r] for r in refs({"complaint_class": "excessive"})} == {"excessive"}
        assert {names[r] for r in refs({"paid": "1"})} == {"paid", "late"}
        assert {names[r] for r in refs({"staff": "env1"})} == {"valid"}
        checked = 0
        for table in k.tables:  # each count of cases in each table is the length of its case list
            for row in table.rows:
                for column in table.columns:
                    drill = cell_drill(row, column)
                    if drill is not None and column.counts == "cases" and row.get("kind", "count") == "count":
                        assert len(refs(drill)) == row[column.key], (table.id, row, column.key)
                        checked += 1
                    elif drill is not None:  # a count of timed tasks: the cases holding them
                        assert 0 < len(refs(drill)) <= row[column.key] or row[column.key] == 0
        assert checked >= 40  # every case count of every table
        with pytest.raises(BadInput):
            cases_behind(session, NOV, {"colour": "red"}, LATER)


def test_tables_name_what_they_count_and_drill_by_id(runtime, november_cases):
    k = kpis(runtime)

    def labels(table_id):
        return {row["label"]: row["drill"] for row in k.table(table_id).rows}

    assert labels("by_process") == {Text("报修处理", "Repair"): {"process": "repair"},
                                    Text("投诉处理", "Complaint"): {"process": "complaint"}}
    assert labels("by_department")[Text("工程部", "Engineering")] == {"department": "engineering"}
    assert labels("by_category") == {"": {"category": ""}}  # no category: shown as —
    assert labels("sla")[Text("维修人员到场", "repair.arrive_now")] == {"target": "repair.arrive_now"}
    staff = {row["drill"]["staff"]: row for row in k.table("by_staff").rows}
    assert staff["env1"]["label"] == Text("郑洁 (env1)", "郑洁 (env1)")
    assert staff["env1"]["department"] == Text("环境部", "Environment")
    assert staff["reception1"]["department"] == Text("客服部", "Customer service")
    assert k.names.process("repair") == Text("报修处理", "Repair")  # name and name_en of its diagram


def test_ids_without_a_name_show_as_themselves():
    names = Names()  # nothing deployed, no accounts
    assert names.process("retired_process") == Text("retired_process", "retired_process")
    assert names.category("burst_pipe") == Text("burst_pipe", "burst_pipe")
    assert names.category("repair") == Text("repair", "repair")  # categories come from the deployed rules
    assert names.department("marketing") == Text("marketing", "marketing")
    assert names.sla_target("gone.target") == Text("gone.target", "gone.target")
    assert names.staff("temp1") == Text("temp1", "temp1")
    assert names.category("") == "" and names.department("") == ""  # nothing to name: the tables show —


def test_rebuild_from_the_log_equals_the_incremental_facts(runtime, november_cases):
    with runtime.db.session() as session:
        incremental = [dict(r._mapping) for r in session.execute(select(CaseFact.__table__).order_by(CaseFact.instance_id))]
    with runtime.db.session() as session, session.begin():
        assert rebuild(session.connection()) == len(incremental)
    with runtime.db.session() as session:
        rebuilt = [dict(r._mapping) for r in session.execute(select(CaseFact.__table__).order_by(CaseFact.instance_id))]
    assert rebuilt == incremental
    assert sum(1 for f in rebuilt if f["charge"]) == 2 and sum(f["visits"] for f in rebuilt) == 4  # not empty


def test_a_later_policy_change_does_not_rewrite_the_past(runtime, november_cases, library, start_case):
    before = kpis(runtime)
    sla = library.rules["sla.yaml"].replace("  repair.arrive_now:\n    duration: PT10M",
                                       "  repair.arrive_now:\n    duration: PT30M")
    prices = library.rules["prices.yaml"].replace("price: 30", "price: 300")
    assert sla != library.rules["sla.yaml"] and prices != library.rules["prices.yaml"]
    changed = visiting_every_case(replace(library, rules={**library.rules, "sla.yaml": sla, "prices.yaml": prices}))
    with runtime.transaction() as session:
        deploy_bundle(session, changed, actor="system", note="new policy")
    runtime.clock.set(LATER + timedelta(days=1))
    repair(start_case, runtime.clock, arrive_after=20)  # a December case under the new policy
    after = kpis(runtime)
    assert after.sla == before.sla and after.revenue == before.revenue and after.followup == before.followup
    assert [t.rows for t in after.tables] == [t.rows for t in before.tables]
    with runtime.transaction() as session:  # and a rebuild under the new policy gives the same past
        rebuild(session.connection())
    assert kpis(runtime).tables == before.tables
    december = kpis(runtime, StatsQuery("2026-12", site="nanshan"))
    assert december.revenue == 300.0  # the new price list holds from its deployment on
    assert [(s.met, s.breached) for s in december.sla if s.target == "repair.arrive_now"] == [(1, 0)]


def test_trend_and_histogram(runtime, november_cases):
    with runtime.db.session() as session:
        trend = monthly_trend(session, "nanshan", LATER, months=3)
        histogram = response_histogram(session, NOV, "repair.arrive_now", LATER, bins=4)
    assert [(p.month, p.cases, p.cancelled) for p in trend] == [("2026-10", 1, 0), ("2026-11", 7, 1),
                                                                ("2026-12", 1, 0)]
    november = kpis(runtime)
    # the trend counts decided clocks: the open case's overdue order is breached in the KPIs, still running here
    assert trend[1].met == sum(s.met for s in november.sla)
    assert trend[1].breached == sum(s.breached for s in november.sla) - 1
    assert histogram.limit_seconds == 600
    assert [(b.low_seconds, b.count, b.breached) for b in histogram.bins] == [
        (0, 0, 0), (300, 1, 0), (600, 0, 0), (900, 1, 1)]


def test_a_month_must_be_a_month():
    with pytest.raises(BadInput):
        StatsQuery("2026-13")
