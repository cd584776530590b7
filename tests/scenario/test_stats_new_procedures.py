"""The statistics and the monthly figures show the procedures of issue #18 (001/第1篇, 第5篇, 003 4.2.2, 第2篇).

Every procedure's cases count under its own name and department; where a diagram marks a
step `measure: arrival` (engineering at the trapped lift, the guards at the assembly point)
the case's arrival time runs to that step, so the durations table shows it. Nothing here is
per-procedure Python: the names, departments and arrival steps are the catalogue's data.
"""

from datetime import timedelta

import pytest

from engine.stats import StatsQuery, month_kpis
from engine.stats.months import month_of

# (process, start data, who starts it, the department its cases count under)
PROCEDURES = [
    ("lift_failure", {}, "guard1", "护管部"),
    ("electrical_leak", {}, "guard1", "护管部"),
    ("acute_illness", {}, "guard1", "护管部"),
    ("patrol", {"round_area": "1栋", "planned_checkpoints": 4}, "reception1", "客服部"),
    ("drunk_or_disturbed", {}, "guard1", "护管部"),
    ("refusing_to_comply", {}, "guard1", "护管部"),
    ("emergency_assembly", {"trigger": "disaster", "is_drill": False, "assembly_point": "管理处门前"}, "seclead1",
     "护管部"),
    ("paid_service", {"caller": "林先生", "unit": "5栋3楼302", "phone": "13800000000", "description": "全屋清洁"},
     "reception1", "客服部"),
    ("customer_visit", {"resident": "林先生", "unit": "5栋3楼302", "visit_kind": "holiday"}, "supervisor1", "客服部"),
]


def kpis_of(runtime, process_id: str):
    with runtime.db.session() as session:
        return month_kpis(session, StatsQuery(month_of(runtime.clock.now()), process=process_id), runtime.clock.now())


def rows_of(kpis, table_id: str) -> dict:
    return {row["drill"][next(iter(row["drill"]))]: row for row in kpis.table(table_id).rows if row.get("drill")}


@pytest.mark.parametrize(("process_id", "data", "starter", "department"), PROCEDURES,
                         ids=[p[0] for p in PROCEDURES])
def test_each_new_procedure_counts_under_its_name_and_department(start_case, runtime, library, process_id, data,
                                                                 starter, department):
    start_case(process_id, data, as_user=starter)
    kpis = kpis_of(runtime, process_id)
    assert (kpis.cases, kpis.open) == (1, 1)
    by_process = kpis.table("by_process").rows
    assert [(r["label"].zh, r["cases"]) for r in by_process] == [(kpis.names.process(process_id).zh, 1)]
    assert kpis.names.process(process_id).zh != process_id  # the procedure's BPMN name, not its id
    assert [(r["label"].zh, r["cases"]) for r in kpis.table("by_department").rows] == [(department, 1)]


def test_the_lift_failure_arrival_is_engineering_at_the_lift(start_case, runtime):
    case = start_case("lift_failure", {}, as_user="guard1")
    case.complete("check_trapped", "guard1", lift_location="5栋2号梯", fault_kind="lift_fault", people_trapped=False, trapped_count=0,
                  checked_at="2026-11-23T17:00:00+08:00")
    case.complete("notify_engineering", "guard1", engineering_notified=True, notified_person="吴师傅",
                  notified_at="2026-11-23T17:00:00+08:00")
    runtime.clock.advance(minutes=12)
    assert kpis_of(runtime, "lift_failure").durations["arrival"].count == 0
    case.complete("engineering_arrive", "tech1", technicians="吴师傅", arrived_at="2026-11-23T17:12:00+08:00")
    arrival = kpis_of(runtime, "lift_failure").durations["arrival"]
    assert (arrival.count, arrival.p50_seconds) == (1, timedelta(minutes=12).total_seconds())


def test_the_assembly_arrival_times_are_kept_for_the_statistics(start_case, runtime):
    case = start_case("emergency_assembly", {"trigger": "drill_or_check", "is_drill": True,
                                             "assembly_point": "管理处门前"}, as_user="seclead1")
    case.complete("call_out", "seclead1", called_via="radio", guards_called=8, on_post_told=True,
                  leadership_told=True)
    runtime.clock.advance(minutes=7)
    case.complete("roll_call", "seclead1", arrived_count=8, arrival_times="赵刚 17:06\n孙伟 17:07", all_arrived=True)
    kpis = kpis_of(runtime, "emergency_assembly")
    arrival = kpis.durations["arrival"]
    assert (arrival.count, arrival.p50_seconds) == (1, timedelta(minutes=7).total_seconds())
    sla = {s.target: s for s in kpis.sla}
    assert (sla["assembly.arrive"].met, sla["assembly.arrive"].breached) == (1, 0)  # a drill is timed too


def test_a_customer_visits_verdict_counts_in_the_follow_up_statistics(start_case, runtime):
    """001/第2篇 2.4: the month's visit results (《客户回访记录》) include move-in, after-emergency and
    holiday visits, by the same 客户意见 field the complaint and repair visits record."""
    case = start_case("customer_visit", {"resident": "林先生", "unit": "5栋3楼302", "visit_kind": "move_in"},
                      as_user="supervisor1")
    case.complete("assistant_visit", "reception1", visit_mode="phone", visit_record="电话回访：住户满意",
                  visit_result="satisfied", new_issue="none")
    other = start_case("customer_visit", {"resident": "陈女士", "unit": "2栋801", "visit_kind": "after_emergency"},
                       as_user="supervisor1")
    other.complete("assistant_visit", "reception1", visit_mode="phone", visit_record="电话回访：基本满意，水渍已清",
                   visit_result="basically_satisfied", new_issue="none")
    followup = kpis_of(runtime, "customer_visit").followup
    assert (followup.visits, followup.satisfied, followup.satisfaction) == (2, 1, 0.5)


def test_a_paid_service_billed_by_finance_counts_as_paid_with_its_charge(start_case, runtime):
    """003 4.2.2 / 001/第8篇 4.3: the charge the price list gave is what the statistics count, once
    finance has it on the bill (staff never collect it)."""
    case = start_case("paid_service", {"caller": "林先生", "unit": "5栋3楼302", "phone": "13800000000",
                                       "description": "全屋清洁"})
    case.complete("agree_scope_price", "reception1", service="indoor_cleaning", quantity=2,
                  service_scope="全屋清洁两次", resident_agrees=True)
    case.complete("arrange_service", "reception1", arranged_with="环境部郑洁")
    case.complete("provide_service", "env1", service_done=True, no_cash_taken=True)
    case.complete("confirm_completion", "reception1", resident_confirmed=True, satisfaction="satisfied",
                  no_cash_taken=True)
    assert (kpis_of(runtime, "paid_service").paid_repairs, kpis_of(runtime, "paid_service").revenue) == (0, 0.0)
    case.complete("bill_charge", "finance1", billed=True, bill_month="2026-12")
    kpis = kpis_of(runtime, "paid_service")
    assert (kpis.paid_repairs, kpis.revenue) == (1, 160.0)  # 80 yuan × 2 from prices.yaml
