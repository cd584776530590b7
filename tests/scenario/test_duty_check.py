"""The supervisor's daily check of the duty logs (004 4.3): opened by the duty desk every working
morning with the logs since the last check, signed by the CS supervisor, escalated when late."""

from __future__ import annotations

from sqlalchemy import select

from engine.duty import logbook
from engine.duty.desk import run_duty_pass
from engine.store.models import Instance
from tests.scenario.conftest import Case
from tests.scenario.duty_month import SITE, at, local, publish_month


def daily_check(runtime) -> Case:
    with runtime.db.read_session() as session:
        row = session.scalars(select(Instance).where(Instance.process_id == "duty_check", Instance.site == SITE)
                              .order_by(Instance.id.desc())).first()
    return Case(runtime, row.id, row.reference)


def test_the_supervisor_signs_the_logs_since_the_last_check(runtime):
    at(runtime, "2026-11-20 10:00")
    publish_month(runtime)
    at(runtime, "2026-12-02 08:30")
    run_duty_pass(runtime)
    case = daily_check(runtime)
    task = case.task("check_duty_logs")
    assert (task.role, task.due_at) == ("cs_supervisor", local("2026-12-02 09:30"))
    view = case.task_view("check_duty_logs")
    assert [log["day"] for log in view.data["duty_logs"]] == ["2026-12-01", "2026-12-01"]  # day desk, night duty
    case.complete("check_duty_logs", "supervisor1", logs_checked=True, supervisor_signature="张强",
                  duty_report_received=True)
    assert case.path().elements == ["start", "check_duty_logs", "end"]
    assert case.human_trail() == [("check_duty_logs", "cs_supervisor", "supervisor1")]
    assert case.status == "completed"
    with runtime.db.read_session() as session:  # each log listed shows the signature
        signed = logbook.shift_log(session, view.data["duty_logs"][1]["shift"]).checks
    assert [(c.reference, c.by, c.signature) for c in signed] == [(case.reference, "supervisor1", "张强")]
    at(runtime, "2026-12-03 08:30")  # the next morning lists only the shifts since
    run_duty_pass(runtime)
    assert [log["day"] for log in daily_check(runtime).task_view("check_duty_logs").data["duty_logs"]] \
        == ["2026-12-02", "2026-12-02"]


def test_a_late_check_is_escalated_to_the_manager(runtime):
    at(runtime, "2026-11-20 10:00")
    publish_month(runtime)
    at(runtime, "2026-12-02 08:30")
    run_duty_pass(runtime)
    case = daily_check(runtime)
    at(runtime, "2026-12-02 09:31")
    runtime.fire_due_timers()
    assert [e.data.get("notify") for e in case.events("sla_escalated")] == [["role:manager"]]
    at(runtime, "2026-12-05 09:00")  # Saturday: no check
    run_duty_pass(runtime)
    assert daily_check(runtime).instance_id == case.instance_id
