"""notifications.yaml and the staff contacts: what the schema and the cross-checks refuse
(a credential written in the file, a route to a channel no site has, an unknown role),
and the messages steps write on their own (work given to a routed role or person, a task
gone overdue, a shift handover), each only when routed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.accounts.users import load_demo_staff
from engine.definitions.library import Bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.errors import DefinitionError
from engine.policy.notifications import NotificationKind
from engine.runtime.queries import list_tasks
from engine.runtime.step import Runtime
from engine.store.models import Notification


def findings(library, **texts) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        load_rules({**library.rules, **texts})
    return [f"{f.file}:{f.line}: {f.element_id}: {f.message}" for f in caught.value.findings]


def test_the_librarys_notification_rules_load(library):
    policy = load_rules(library.rules).notifications
    assert policy.routes_for("task_assigned", ["guard"]) == ("security_group", "sms")
    assert policy.routes_for("escalation", ["reception"]) == ("email",)  # the * route
    assert policy.routes_for("escalation", ["manager"]) == ("management_group", "sms", "email")
    assert policy.emergencies == {"emergency_patient", "gas_leak", "water_leak", "lift_failure"}


def test_a_credential_written_in_the_file_is_refused(library):
    text = library.rules["notifications.yaml"].replace(
        "password: {env: NANSHAN_SMTP_PASSWORD}", "password: hunter2")
    (finding,) = findings(library, **{"notifications.yaml": text})
    assert finding.startswith("processes/rules/notifications.yaml:") and "password" in finding
    text = library.rules["notifications.yaml"].replace("webhook: {env: NANSHAN_WECOM_WEBHOOK}",
                                                       "webhook: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    assert any("webhook" in f for f in findings(library, **{"notifications.yaml": text}))


def test_routes_must_name_known_roles_and_channels_some_site_has(library):
    text = library.rules["notifications.yaml"].replace("    guard: [security_group, sms]\n",
                                                       "    guard: [security_group, pager]\n    janitor: [sms]\n", 1)
    text = text.replace("alert_role: cs_supervisor", "alert_role: night_owl")
    found = findings(library, **{"notifications.yaml": text})
    assert any("routes.task_assigned.guard.1: no site has a channel named 'pager'" in f for f in found)
    assert any("routes.task_assigned.janitor: unknown role 'janitor'" in f for f in found)
    assert any("alert_role: unknown role 'night_owl'" in f for f in found)


def test_staff_contacts_are_checked(library):
    text = library.rules["staff.yaml"].replace("phone: '13800000006'", "phone: 'call me'")
    (finding,) = findings(library, **{"staff.yaml": text})
    assert "processes/rules/staff.yaml" in finding and "phone" in finding


# -- what steps announce ------------------------------------------------------------------

@pytest.fixture
def rt(db, clock, library) -> Runtime:
    runtime = Runtime(db, clock)
    with runtime.transaction() as session:
        load_demo_staff(session, load_rules(library.rules))
        deploy_bundle(session, library, actor="system", note="test")
    return runtime


def messages(rt) -> list[tuple[str, str | None, str | None, bool]]:
    with rt.db.session() as session:
        return [(n.kind, n.to_role, n.to_user, n.emergency)
                for n in session.scalars(select(Notification).order_by(Notification.id))]


AT = "2026-11-23T09:05:00+00:00"
CHOOSE_HOSPITAL = dict(caller="林先生", unit="3-2-1201", phone="13800000000", condition="晕倒", help_type="hospital",
                       major=False)


def complete(rt, instance_id: int, element_id: str, user: str, **data) -> None:
    with rt.db.session() as session:
        (task,) = [t for t in list_tasks(session, instance_id=instance_id) if t.element_id == element_id]
    rt.complete_task(task.id, data, user)


def test_work_for_a_routed_role_is_announced_and_for_others_not(rt):
    case = rt.start_instance("emergency_patient", {"unit": "3-2-1201"}, "reception1").instance
    assert messages(rt) == []  # reception's own task: reception has no task_assigned route
    complete(rt, case.id, "choose_help", "reception1", **CHOOSE_HOSPITAL)
    complete(rt, case.id, "notify_security_lead", "reception1", security_lead_name="刘队长", lead_notified_at=AT)
    assert messages(rt) == [(NotificationKind.TASK_ASSIGNED, "security_lead", None, True)]
    with rt.db.session() as session:
        (note,) = session.scalars(select(Notification)).all()
    assert note.text == "【紧急】JJ-20261123-0001（3-2-1201）：请处理「按距离安排两名护管员待命」"
    assert note.link.startswith("/tasks/") and note.text_en.startswith("[URGENT] JJ-20261123-0001 (unit 3-2-1201)")


def test_a_dispatch_tells_each_person_named_and_a_reassignment_the_new_holder(rt):
    case = rt.start_instance("emergency_patient", {"unit": "3-2-1201"}, "reception1").instance
    complete(rt, case.id, "choose_help", "reception1", **CHOOSE_HOSPITAL)
    complete(rt, case.id, "notify_security_lead", "reception1", security_lead_name="刘队长", lead_notified_at=AT)
    complete(rt, case.id, "dispatch_guards", "seclead1", guards=["赵刚", "孙伟"], standby_place="lobby")
    assert messages(rt)[1:] == [(NotificationKind.TASK_ASSIGNED, None, "guard1", True),  # chosen by name
                                (NotificationKind.TASK_ASSIGNED, None, "guard2", True)]
    with rt.db.session() as session:
        told = session.scalars(select(Notification.text).where(Notification.to_user == "guard1")).one()
    assert told == "【紧急】JJ-20261123-0001（3-2-1201）：请立即到地下室大堂（服务中心）待命，准备护送病人就医"
    complete(rt, case.id, "arrange_vehicle", "reception1", vehicle_type="taxi")
    assert messages(rt)[-1] == (NotificationKind.TASK_ASSIGNED, "guard", None, True)  # first aid: the guards' task
    complete(rt, case.id, "first_aid", "guard1", illness_kind="fainted", aid_given=["lay_flat"], critical=False)
    assert messages(rt)[-1] == (NotificationKind.TASK_ASSIGNED, "guard", None, True)  # escort: the guards' task
    with rt.db.session() as session:
        (escort,) = [t for t in list_tasks(session, instance_id=case.id) if t.element_id == "escort_to_hospital"]
    rt.reassign_task(escort.id, "guard2", "supervisor1")
    assert messages(rt)[-1] == (NotificationKind.TASK_ASSIGNED, None, "guard2", True)


def test_a_shift_handover_task_is_handover_due(rt, library):
    rules = load_rules(library.rules)
    assert rules.notifications.handover == {"shift_handover"}
    routed = rules.notifications.is_routed(NotificationKind.HANDOVER_DUE, "reception")
    case = rt.start_instance("shift_handover", {}, "reception1").instance
    kinds = [kind for kind, *_ in messages(rt)]
    assert (NotificationKind.HANDOVER_DUE in kinds) == routed and NotificationKind.TASK_ASSIGNED not in kinds
    assert case.reference.startswith("JB-")


def test_routing_handover_due_writes_it(db, clock, library):
    text = library.rules["notifications.yaml"].replace("routes:\n", "routes:\n  handover_due:\n    reception: [email]\n", 1)
    bundle = Bundle(library.bpmn, library.dmn, library.forms, {**library.rules, "notifications.yaml": text})
    rt = Runtime(db, clock)
    with rt.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="system", note="test")
    rt.start_instance("shift_handover", {}, "reception1")
    assert messages(rt) == [(NotificationKind.HANDOVER_DUE, "reception", None, False)]
