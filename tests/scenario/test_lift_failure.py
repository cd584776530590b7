"""Scenario tests of processes/lift_failure.bpmn (电梯故障处理, 001/第5篇 2.4.2): one test per path.

The guard checks for people trapped and comforts them over the intercom, tells engineering
at once and keeps order while engineering comes and releases them; the guard may only
finish by confirming the car doors were not forced open. Engineering's limits are the
lift.* targets of sla.yaml, escalated by the `lift` chain.
"""

import pytest

from engine.accounts.users import load_actor
from engine.errors import FormInvalid
from engine.scheduling.outbox import list_notifications

T = "2026-11-23T17:00:00+08:00"
TRAPPED = dict(lift_location="5栋2号梯 12楼", fault_kind="lift_fault", people_trapped=True, trapped_count=2, checked_at=T)
ORDER = dict(order_kept=True, doors_not_pried=True, order_notes="劝离围观住户")


def notify_and_release(case, released=2):
    case.complete("notify_engineering", "guard1", engineering_notified=True, notified_person="吴师傅", notified_at=T)
    assert sorted(t.element_id for t in case.open_tasks()) == ["engineering_arrive", "keep_order"]
    case.complete("engineering_arrive", "tech1", technicians="吴师傅", arrived_at=T)
    case.complete("release_and_repair", "tech1", released_count=released, fault_cause="门锁回路故障",
                  back_in_service=True, released_at=T)


def test_people_trapped_are_comforted_engineering_releases_them(start_case, runtime, sla_limit):
    case = start_case("lift_failure", {"unit": "5栋"}, as_user="guard1")
    assert case.reference.startswith("DT-")
    assert "撬开电梯轿厢门" in case.task_view("check_trapped").instructions
    case.complete("check_trapped", "guard1", **TRAPPED)
    comfort = case.task_view("comfort_trapped")
    assert "{{ lift_location }}" in comfort.instructions and "{{ trapped_count }}" in comfort.instructions
    assert comfort.data["lift_location"] == "5栋2号梯 12楼"
    case.complete("comfort_trapped", "guard1", intercom_used=True, trapped_condition="anxious")
    assert case.task("notify_engineering").due_at == runtime.clock.now() + sla_limit("lift.notify_engineering")
    case.complete("notify_engineering", "guard1", engineering_notified=True, notified_person="吴师傅", notified_at=T)
    assert case.task("engineering_arrive").due_at == runtime.clock.now() + sla_limit("lift.engineering_arrive")
    case.complete("engineering_arrive", "tech1", technicians="吴师傅", arrived_at=T)
    assert case.task("release_and_repair").due_at == runtime.clock.now() + sla_limit("lift.release")
    case.complete("release_and_repair", "tech1", released_count=2, fault_cause="门锁回路故障",
                  back_in_service=True, released_at=T)
    assert [t.element_id for t in case.open_tasks()] == ["keep_order"]  # the guard stays until the end
    case.complete("keep_order", "guard1", **ORDER)

    path = case.path()
    assert path.elements == [
        "start", "check_trapped", "gw_trapped", "comfort_trapped", "gw_trapped_merge", "notify_engineering",
        "gw_split", "engineering_arrive", "release_and_repair", "keep_order", "gw_join", "end",
    ]
    assert path.flows == [
        "Flow_start", "Flow_check_trapped", "Flow_people_trapped", "Flow_comfort_trapped", "Flow_trapped_merge",
        "Flow_notify_engineering", "Flow_to_keep_order", "Flow_to_engineering", "Flow_engineering_arrive",
        "Flow_release_and_repair", "Flow_keep_order", "Flow_join",
    ]
    assert case.human_trail() == [
        ("check_trapped", "guard", "guard1"),
        ("comfort_trapped", "guard", "guard1"),
        ("notify_engineering", "guard", "guard1"),
        ("engineering_arrive", "technician", "tech1"),
        ("release_and_repair", "technician", "tech1"),
        ("keep_order", "guard", "guard1"),
    ]
    assert [e.type for e in case.events() if e.type.startswith("sla_")] == []
    assert case.status == "completed"


def test_nobody_trapped_goes_straight_to_engineering(start_case):
    case = start_case("lift_failure", {}, as_user="guard1")
    case.complete("check_trapped", "guard1", lift_location="3栋1号梯", fault_kind="power_cut",
                  people_trapped=False, trapped_count=0)
    assert [t.element_id for t in case.open_tasks()] == ["notify_engineering"]
    notify_and_release(case, released=0)
    case.complete("keep_order", "guard1", **ORDER)

    assert case.path().elements == [
        "start", "check_trapped", "gw_trapped", "gw_trapped_merge", "notify_engineering",
        "gw_split", "engineering_arrive", "release_and_repair", "keep_order", "gw_join", "end",
    ]
    assert "Flow_nobody_trapped" in case.path().flows
    assert [e for e, _, _ in case.human_trail()] == [
        "check_trapped", "notify_engineering", "engineering_arrive", "release_and_repair", "keep_order"]
    assert case.status == "completed"


def test_the_guard_cannot_finish_without_confirming_the_doors_were_not_forced(start_case):
    case = start_case("lift_failure", {}, as_user="guard1")
    case.complete("check_trapped", "guard1", **TRAPPED)
    case.complete("comfort_trapped", "guard1", intercom_used=True, trapped_condition="calm")
    notify_and_release(case)
    before = case.events()
    with pytest.raises(FormInvalid) as refused:
        case.complete("keep_order", "guard1", order_kept=True, doors_not_pried=False)
    assert [e.field for e in refused.value.errors] == ["doors_not_pried"]
    with pytest.raises(FormInvalid) as refused:
        case.complete("keep_order", "guard1", order_kept=True)
    assert [e.field for e in refused.value.errors] == ["doors_not_pried"]
    assert case.events() == before and case.status == "running"  # nothing recorded
    case.complete("keep_order", "guard1", **ORDER)
    assert case.status == "completed"


def test_engineering_late_escalates_to_its_supervisor_then_the_duty_lead_and_manager(start_case, runtime):
    """lift.engineering_arrive (15 minutes) on the `lift` chain: the engineering supervisor at
    80 %, the supervisor and the security duty lead at 100 %, the manager 10 minutes later."""
    case = start_case("lift_failure", {"unit": "5栋"}, as_user="guard1")
    case.complete("check_trapped", "guard1", **TRAPPED)
    case.complete("comfort_trapped", "guard1", intercom_used=True, trapped_condition="anxious")
    case.complete("notify_engineering", "guard1", engineering_notified=True, notified_person="吴师傅")
    case.wait(minutes=12, seconds=1)
    case.wait(minutes=3)
    case.wait(minutes=10)
    trail = [(e.type, e.element_id, e.data.get("at")) for e in case.events() if e.type.startswith("sla_")]
    assert trail == [
        ("sla_escalated", "engineering_arrive", "80%"),
        ("sla_breached", "engineering_arrive", None),
        ("sla_escalated", "engineering_arrive", "100%"),
        ("sla_escalated", "engineering_arrive", "100% + PT10M"),
    ]
    with runtime.db.session() as session:
        told = {u: [n.text for n in list_notifications(session, load_actor(session, u))]
                for u in ("engsup1", "seclead1", "manager1")}
    assert {u: len(texts) for u, texts in told.items()} == {"engsup1": 2, "seclead1": 1, "manager1": 1}
    assert all("工程部到场" in text for texts in told.values() for text in texts)
    case.complete("engineering_arrive", "tech1", technicians="吴师傅")  # late, the path goes on
    assert [t.element_id for t in case.open_tasks()] == ["keep_order", "release_and_repair"]
