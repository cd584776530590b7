"""Consultation (咨询受理, 000 篇3 5.6, 001/第6篇 4.3): written or oral; the desk answers
or the CS supervisor does; an oral question the desk cannot answer is replied to after asking
the supervisor within help.reply of its receipt, escalated to the CS supervisor as the triage does."""

from datetime import timedelta

import jinja2
import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.accounts.users import load_actor
from engine.audit.events import EventType
from engine.definitions.library import Bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.scheduling.outbox import list_notifications
from tests.scenario.conftest import SITE_STAFF

T = "2026-11-23T09:05:00+00:00"
INTAKE = dict(caller="林先生", unit="3栋12楼1203", phone="13800000000")
R, CS, M = "reception", "cs_supervisor", "manager"


def reply_limit(library, site: str) -> timedelta:
    """help.reply for `site` as the rules say (PT5M by default, PT10M at binhai)."""
    duration = load_rules(library.rules).sla_duration("help.reply", site)
    return TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration(duration), None)


def start_oral_escalated(start_case, site="nanshan", question="邻居装修噪音的投诉处理到哪一步了？", tried=None,
                         **extra):
    """An oral question received now that the desk, after trying for `tried` (a timedelta), takes to the supervisor."""
    staff = SITE_STAFF[site]
    case = start_case("consultation", {"site": site}, as_user=staff[R])
    intake = dict(INTAKE, consultation_mode="oral", question=question, confidential=False,
                  received_at=case.runtime.clock.now().isoformat())
    intake.update(extra)
    case.complete("receive_consultation", staff[R], **intake)
    if tried:
        case.wait(seconds=tried.total_seconds())
    case.complete("answer_oral", staff[R], needs_supervisor=True, escalation_note="不清楚处理进度，需请示主管")
    return case


ORAL_ESCALATED_ELEMENTS = ["start", "receive_consultation", "gw_mode", "answer_oral", "gw_oral_answered",
                           "reply_oral", "gw_oral_merge", "gw_reply_merge", "record_reply", "end"]
ORAL_ESCALATED_FLOWS = ["Flow_start", "Flow_receive_consultation", "Flow_oral", "Flow_answer_oral",
                        "Flow_oral_to_supervisor", "Flow_reply_oral", "Flow_oral_merge", "Flow_reply_merge",
                        "Flow_record_reply"]


def oral_escalated_trail(site="nanshan"):
    staff = SITE_STAFF[site]
    return [("receive_consultation", R, staff[R]), ("answer_oral", R, staff[R]), ("reply_oral", R, staff[R]),
            ("record_reply", R, staff[R])]


ORAL_ESCALATED_TRAIL = oral_escalated_trail()


def finish_oral_escalated(case, site="nanshan"):
    staff = SITE_STAFF[site]
    case.complete("reply_oral", staff[R], supervisor_answer="已约谈装修户，限期整改", answer="已约谈装修户，限期整改",
                  reply_method="phone", replied_at=T)
    case.complete("record_reply", staff[R], reply_summary="已电话告知处理进度", reply_method="phone")


def test_written_handled_at_desk(start_case):
    case = start_case("consultation", as_user="reception1")
    case.complete("receive_consultation", "reception1", **INTAKE, consultation_mode="written",
                  question="装修申请需要哪些材料？", confidential=False, received_at=T)
    case.complete("register_written", "reception1", registered=True, register_no="DJ-001")
    case.complete("handle_written", "reception1", needs_supervisor=False, answer="装修申请表和施工图纸",
                  reply_method="phone")
    case.complete("record_reply", "reception1", reply_summary="已电话告知所需材料", reply_method="phone", replied_at=T)

    path = case.path()
    assert path.elements == ["start", "receive_consultation", "gw_mode", "register_written", "handle_written",
                             "gw_written_handled", "gw_written_merge", "gw_reply_merge", "record_reply", "end"]
    assert path.flows == ["Flow_start", "Flow_receive_consultation", "Flow_written", "Flow_register_written",
                          "Flow_handle_written", "Flow_written_handled", "Flow_written_merge", "Flow_reply_merge",
                          "Flow_record_reply"]
    assert case.human_trail() == [("receive_consultation", R, "reception1"), ("register_written", R, "reception1"),
                                  ("handle_written", R, "reception1"), ("record_reply", R, "reception1")]
    assert case.status == "completed"


def test_written_passed_to_supervisor_who_replies_in_writing(start_case):
    case = start_case("consultation", as_user="reception1")
    case.complete("receive_consultation", "reception1", **INTAKE, consultation_mode="written",
                  question="公司对外墙广告位的出租政策？", confidential=True, confidential_kind="internal", received_at=T)
    case.complete("register_written", "reception1", registered=True)
    case.complete("handle_written", "reception1", needs_supervisor=True, escalation_note="涉及公司经营政策")
    assert "reply_oral" not in [t.element_id for t in case.open_tasks()]
    assert case.task("supervisor_reply_written").role == CS
    case.complete("supervisor_reply_written", "supervisor1", reply_method="written",
                  supervisor_answer="已书面答复：广告位暂不对外出租", company_reply=True, replied_at=T)
    case.complete("record_reply", "reception1", reply_summary="主管已书面答复", reply_method="written")

    path = case.path()
    assert path.elements == ["start", "receive_consultation", "gw_mode", "register_written", "handle_written",
                             "gw_written_handled", "supervisor_reply_written", "gw_written_merge",
                             "gw_reply_merge", "record_reply", "end"]
    assert path.flows == ["Flow_start", "Flow_receive_consultation", "Flow_written", "Flow_register_written",
                          "Flow_handle_written", "Flow_written_to_supervisor", "Flow_supervisor_reply_written",
                          "Flow_written_merge", "Flow_reply_merge", "Flow_record_reply"]
    assert case.human_trail() == [("receive_consultation", R, "reception1"), ("register_written", R, "reception1"),
                                  ("handle_written", R, "reception1"),
                                  ("supervisor_reply_written", CS, "supervisor1"), ("record_reply", R, "reception1")]
    assert case.status == "completed"


def test_oral_answered_at_once(start_case):
    case = start_case("consultation", as_user="reception1")
    case.complete("receive_consultation", "reception1", **INTAKE, consultation_mode="oral",
                  question="物业费可以用微信缴纳吗？", confidential=False, received_at=T)
    case.complete("answer_oral", "reception1", needs_supervisor=False, answer="可以，在服务中心扫码缴纳")
    case.complete("record_reply", "reception1", reply_summary="当场解答", reply_method="in_person")

    path = case.path()
    assert path.elements == ["start", "receive_consultation", "gw_mode", "answer_oral", "gw_oral_answered",
                             "gw_oral_merge", "gw_reply_merge", "record_reply", "end"]
    assert path.flows == ["Flow_start", "Flow_receive_consultation", "Flow_oral", "Flow_answer_oral",
                          "Flow_oral_answered", "Flow_oral_merge", "Flow_reply_merge", "Flow_record_reply"]
    assert case.human_trail() == [("receive_consultation", R, "reception1"), ("answer_oral", R, "reception1"),
                                  ("record_reply", R, "reception1")]
    assert case.status == "completed"


def test_oral_asked_supervisor_replied_in_time(start_case, library, runtime):
    received = runtime.clock.now()
    case = start_oral_escalated(start_case, tried=timedelta(minutes=1))
    limit = reply_limit(library, "nanshan")
    # the desk replies to the resident, within the limit counted from receipt, not from asking
    assert (case.task("reply_oral").role, case.task("reply_oral").due_at) == (R, received + limit)
    assert case.wait(seconds=limit.total_seconds() - 61) == 0  # within the limit nothing fires
    finish_oral_escalated(case)
    assert case.wait(hours=1) == 0  # the timer went with the answered task

    path = case.path()
    assert path.elements == ORAL_ESCALATED_ELEMENTS
    assert path.flows == ORAL_ESCALATED_FLOWS
    assert case.human_trail() == ORAL_ESCALATED_TRAIL
    assert case.status == "completed"


@pytest.mark.parametrize(("site", "minutes"), [("nanshan", 5), ("binhai", 10)])
def test_oral_reply_overdue_from_receipt_escalates_to_the_cs_supervisor_as_the_triage_does(
        start_case, library, runtime, site, minutes):
    staff = SITE_STAFF[site]
    received = runtime.clock.now()
    case = start_oral_escalated(start_case, site=site, tried=timedelta(minutes=3))  # 3 minutes before asking
    assert reply_limit(library, site) == timedelta(minutes=minutes)
    assert case.task("reply_oral").due_at == received + timedelta(minutes=minutes)
    assert case.wait(minutes=minutes - 3, seconds=-1) == 0
    assert case.wait(seconds=2) == 1  # at receipt + the limit
    assert case.task("supervise_overdue_reply").role == CS
    assert case.task("reply_oral")  # non-interrupting: the desk still replies
    assert [e.element_id for e in case.events(EventType.SLA_BREACHED)] == ["reply_oral"]
    case.complete("supervise_overdue_reply", staff[CS], followup_notes="接待员在接另一个电话，已督促立即答复")
    assert case.status == "running"
    finish_oral_escalated(case, site)

    path = case.path()
    assert path.elements == ["start", "receive_consultation", "gw_mode", "answer_oral", "gw_oral_answered",
                             "timer_reply_overdue", "supervise_overdue_reply", "end_overdue",
                             "reply_oral", "gw_oral_merge", "gw_reply_merge", "record_reply", "end"]
    assert path.flows == ["Flow_start", "Flow_receive_consultation", "Flow_oral", "Flow_answer_oral",
                          "Flow_oral_to_supervisor", "Flow_reply_overdue", "Flow_supervise_overdue_reply",
                          "Flow_reply_oral", "Flow_oral_merge", "Flow_reply_merge", "Flow_record_reply"]
    trail = oral_escalated_trail(site)
    assert case.human_trail() == trail[:2] + [("supervise_overdue_reply", CS, staff[CS])] + trail[2:]
    assert case.status == "completed"


def test_confidential_flag_is_recorded_and_shown_to_whoever_answers(start_case):
    case = start_oral_escalated(start_case, question="1203业主的新手机号是多少？", confidential=True,
                                confidential_kind="privacy")
    intake = [e for e in case.events("task_completed") if e.element_id == "receive_consultation"][0]
    assert intake.data["submitted"]["confidential"] is True
    view = case.task_view("reply_oral")
    shown = jinja2.Environment().from_string(view.instructions).render(**view.data)
    assert "【保密】本咨询涉及个人隐私" in shown
    finish_oral_escalated(case)
    assert case.status == "completed"


def test_not_confidential_shows_no_warning(start_case):
    case = start_oral_escalated(start_case)
    view = case.task_view("reply_oral")
    shown = jinja2.Environment().from_string(view.instructions).render(**view.data)
    assert "保密" not in shown and "邻居装修噪音" in shown and "请示说明：不清楚处理进度" in shown


def test_changing_the_sites_reply_limit_in_yaml_moves_the_escalation(start_case, library, runtime):
    """Policy, not the diagram, sets the limit: nanshan's help.reply goes from 5 to 10 minutes
    in sla.yaml, the library is redeployed, and only cases started afterwards wait longer."""
    before = start_oral_escalated(start_case)
    assert reply_limit(library, "nanshan") == timedelta(minutes=5)
    relaxed = Bundle(library.bpmn, library.dmn, library.forms, dict(library.rules))
    relaxed.rules["sla.yaml"] = library.rules["sla.yaml"].replace(
        "site_overrides:\n", "site_overrides:\n  nanshan:\n    help.reply: PT10M\n", 1)
    assert relaxed.bpmn == library.bpmn  # no diagram change
    with runtime.transaction() as session:
        deployed = {r.process_id: (r.version, r.created) for r in deploy_bundle(session, relaxed, "designer1")}
    assert deployed["consultation"] == (2, True)
    after = start_oral_escalated(start_case)

    assert before.wait(minutes=5, seconds=1) == 1  # the 5-minute case escalates, under its own policy
    assert [t.element_id for t in after.open_tasks()] == ["reply_oral"]
    assert after.wait(minutes=4, seconds=58) == 0  # 10 minutes after it was received, not yet
    assert after.wait(seconds=2) == 1
    assert "supervise_overdue_reply" in [t.element_id for t in after.open_tasks()]


def test_the_reply_limit_escalates_once_per_level(start_case, runtime):
    """sla.yaml's `reply` chain on help.reply (5 minutes at nanshan): the CS supervisors are
    told at 80 %, the breach is recorded at 100 %, the manager is told at 100 % + 10 minutes,
    each once however often the worker runs; the audit trail says so in that order."""
    case = start_oral_escalated(start_case)
    case.wait(minutes=4, seconds=1)
    case.wait()  # the worker again, at the same moment: nothing more
    case.wait(minutes=1)
    case.wait()
    case.wait(minutes=10)
    case.wait()
    trail = [(e.type, e.data.get("at")) for e in case.events() if e.type.startswith("sla_")]
    assert trail == [("sla_escalated", "80%"), ("sla_breached", None), ("sla_escalated", "100% + PT10M")]
    with runtime.db.session() as session:
        told = {u: [n.text for n in list_notifications(session, load_actor(session, u))]
                for u in ("supervisor1", "manager1", "reception1")}
    assert [len(told[u]) for u in ("supervisor1", "manager1", "reception1")] == [1, 1, 0]
    # The case, the unit, what happened and what to do, and the due time (China time).
    assert told["supervisor1"][0] == f"{case.reference}（3栋12楼1203）：「请示主管后答复住户」已用去时限的 80%，请跟进，期限 11-23 17:05"
    case.complete("supervise_overdue_reply", "supervisor1", followup_notes="接待员在接另一个电话，已督促立即答复")
    finish_oral_escalated(case)
    assert case.status == "completed"
