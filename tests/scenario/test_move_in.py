"""Scenario tests of processes/move_in.bpmn (入伙, 001/第3篇): one test per path.

Every case is played through the runtime by the people who do the work, on the fake
clock, and its audit trail is checked exactly: elements executed, flows taken, and who
completed which task in which role. The move-in deadline is a date-time in the case;
the reminder falls `sla("movein.reminder")` (3 days) before it and the report to
leadership once it has passed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.rules import load_rules
from engine.errors import FormInvalid
from engine.runtime.queries import get_instance_row, list_events, list_tasks

PROCESS = "move_in"
R, SUP, MGR, F, ES = "reception", "cs_supervisor", "manager", "finance", "engineering_supervisor"
AT = "2026-11-23T10:00:00+08:00"  # a valid date-time for every *_at field
DEADLINE = "2026-12-10T17:00:00+08:00"  # 17 days after the fake clock's start

# -- valid form data per task (forms/move_in/*.yaml) --------------------------------------

OWNER = dict(mover_type="owner", unit="3-2-1201", resident_name="林先生", phone="13800000000")
TENANT = dict(mover_type="tenant", unit="5-1-0802", resident_name="周女士", phone="13900000000")
NOTICE = dict(notice_no="RH-TZ-0318", sent_at=AT, send_method="post", move_in_from="2026-12-01T09:00:00+08:00",
              deadline=DEADLINE, contents_checked=True)
BASE_DOCUMENTS = dict(arrived_at=AT, notice=True, purchase_contract=True, payment_proof=True,
                      maintenance_fund_receipt=True)
OWNER_DOCUMENTS = dict(BASE_DOCUMENTS, applicant_type="owner", owner_id=True, photos=True)
PROXY_DOCUMENTS = dict(OWNER_DOCUMENTS, applicant_type="proxy", power_of_attorney=True, agent_id=True)
COMPANY_DOCUMENTS = dict(BASE_DOCUMENTS, applicant_type="company", authorisation_letter=True, business_licence=True)
VERIFY_PROXY = dict(agent_name="林小姐", agent_id_no="44030519900101002X", power_of_attorney_verified=True,
                    agent_id_verified=True)
VERIFY_COMPANY = dict(company_name="深圳市荔园贸易有限公司", licence_no="91440300MA5EXAMPLE",
                      authorised_person="陈主任", authorisation_verified=True, licence_verified=True)
FILE_DOCUMENTS = dict(copies_filed=True, originals_returned=True, archive_no="RH-DA-0318")
ISSUE_HANDBOOK = dict(handbook_signed=True, decoration_guide_signed=True, matters_explained=True,
                      other_materials=["usage_manual", "quality_guarantee"])
SIGN_AGREEMENTS = dict(covenant_signed=True, fire_safety_signed=True, service_agreement_signed=True,
                       copies_split=True)
RESIDENT_INFO = dict(household_size=3, household_members=[{"member_name": "林太太", "relation": "配偶"}],
                     emergency_contact="林太太", emergency_phone="13700000000", info_form_filed=True)
PAY_FEES = dict(fees=[{"fee_item": "物业管理费（三个月）", "amount": 1260}, {"fee_item": "装修垃圾清运费", "amount": 300}],
                receipt_no="SK-0318", utilities_debit_signed=True, management_debit_signed=True,
                debit_bank="工商银行")
INSPECTION = dict(inspected_at=AT, inspected_with="owner", water_meter=12.5, electricity_meter=30,
                  staff_signed=True, owner_signed_inspection=True)
DEFECTS = [{"location": "主卧", "description": "窗框渗水"}, {"location": "厨房", "description": "墙砖空鼓两块"}]
ALL_KEYS = dict(keys_handed=4, keys_registered=True)
KEYS_KEEP_ONE = dict(keys_handed=3, entry_key_kept=True, keys_registered=True)
RECTIFIED = dict(rectification_notes="窗框重新打胶，空鼓墙砖更换", rectified_at=AT, all_rectified=True)
KEY_RETURNED = dict(key_returned_at=AT, key_return_registered=True)
DECORATION = dict(decoration_planned=True, flow_sheet_signed=True, decoration_application_no="ZX-0318",
                  plan_sent_to_engineering=True)
UTILITIES = dict(services=["water", "power", "gas", "cable_tv"], bank_collection_signed=True,
                 submitted_to=["utility_units", "cs_department"])
WATER_POWER = dict(water_opened=True, power_opened=True, opened_at=AT)
RESIDENT_FILE = dict(resident_file_no="DA-3-2-1201", file_contents=["documents", "agreements", "info_form",
                                                                    "inspection_form", "key_register"])
TENANT_READY = dict(lease_signed=True, rent_paid=True, tenant_id_provided=True, decoration_accepted=True)
REGISTER_TENANT = dict(tenant_id_no="440305199202020021", lease_from="2026-12-01T00:00:00+08:00",
                       lease_to="2027-11-30T00:00:00+08:00", landlord_name="林先生", tenant_registered=True)

# -- expected audit trail, piece by piece ---------------------------------------------------

NOTICE_ELEMENTS = ["start", "register_move_in", "gw_mover_type", "send_notice"]
NOTICE_FLOWS = ["Flow_start", "Flow_register_move_in", "Flow_owner", "Flow_send_notice"]
NOTICE_TRAIL = [("register_move_in", R, "reception1"), ("send_notice", R, "reception1")]
# From the filed documents to the inspection (8.3–8.7).
PAPERWORK_ELEMENTS = ["file_documents", "issue_handbook", "sign_agreements", "resident_info", "pay_fees",
                      "inspect_unit", "gw_defects"]
PAPERWORK_FLOWS = ["Flow_applicant_merge", "Flow_file_documents", "Flow_issue_handbook", "Flow_sign_agreements",
                   "Flow_resident_info", "Flow_pay_fees", "Flow_inspect_unit"]
PAPERWORK_TRAIL = [("file_documents", R, "reception1"), ("issue_handbook", R, "reception1"),
                   ("sign_agreements", R, "reception1"), ("resident_info", R, "reception1"),
                   ("pay_fees", F, "finance1"), ("inspect_unit", R, "reception1")]
ALL_KEYS_ELEMENTS = ["hand_over_all_keys", "gw_keys_merge"]
ALL_KEYS_FLOWS = ["Flow_no_defects", "Flow_hand_over_all_keys"]
ALL_KEYS_TRAIL = [("hand_over_all_keys", R, "reception1")]
FINISH_ELEMENTS = ["apply_decoration", "apply_utilities", "open_water_power", "create_resident_file",
                   "arrange_move_in_visit", "end_moved_in"]  # the move-in visit is arranged (001/第2篇 1.6)
FINISH_FLOWS = ["Flow_keys_merge", "Flow_apply_decoration", "Flow_apply_utilities", "Flow_open_water_power",
                "Flow_create_resident_file", "Flow_arrange_move_in_visit"]
FINISH_TRAIL = [("apply_decoration", R, "reception1"), ("apply_utilities", R, "reception1"),
                ("open_water_power", ES, "engsup1"), ("create_resident_file", R, "reception1")]
# The owner came in person and found nothing wrong: documents to keys to file.
IN_PERSON_ELEMENTS = (["check_documents", "gw_applicant", "gw_applicant_merge"] + PAPERWORK_ELEMENTS
                      + ALL_KEYS_ELEMENTS + FINISH_ELEMENTS)
IN_PERSON_FLOWS = (["Flow_check_documents", "Flow_applicant_owner"] + PAPERWORK_FLOWS + ALL_KEYS_FLOWS
                   + FINISH_FLOWS)
IN_PERSON_TRAIL = [("check_documents", R, "reception1")] + PAPERWORK_TRAIL + ALL_KEYS_TRAIL + FINISH_TRAIL


# -- helpers ------------------------------------------------------------------------------

def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def reminder_lead(library) -> timedelta:
    """How long before the deadline the reminder falls at the default site (sla.yaml)."""
    rules = load_rules(library.rules)
    duration = rules.sla_duration("movein.reminder", rules.default_site)
    return TimerEventDefinition.get_timedelta_from_end(TimerEventDefinition.parse_iso_duration(duration),
                                                       at(DEADLINE))


def notified_owner(start_case):
    """An owner's case up to the notice: the case now waits for the owner at check_documents."""
    case = start_case(PROCESS, as_user="reception1")
    assert case.reference.startswith("RH-")
    case.complete("register_move_in", "reception1", **OWNER)
    case.complete("send_notice", "reception1", **NOTICE)
    assert [t.element_id for t in case.open_tasks()] == ["check_documents"]
    return case


def wait_until(case, moment: datetime) -> int:
    """Let the fake clock run to `moment` and fire what fell due."""
    return case.wait(seconds=(moment - case.runtime.clock.now()).total_seconds())


def do_paperwork(case, inspection=INSPECTION):
    """8.3–8.7 after the documents are checked: file, handbook, agreements, form, fees, inspection."""
    case.complete("file_documents", "reception1", **FILE_DOCUMENTS)
    case.complete("issue_handbook", "reception1", **ISSUE_HANDBOOK)
    case.complete("sign_agreements", "reception1", **SIGN_AGREEMENTS)
    case.complete("resident_info", "reception1", **RESIDENT_INFO)
    assert case.task("pay_fees").role == F
    case.complete("pay_fees", "finance1", **PAY_FEES)
    case.complete("inspect_unit", "reception1", **inspection)


def finish(case):
    """8.9, 9 and 5.5 2): decoration and utilities applications, water and power, resident file."""
    case.complete("apply_decoration", "reception1", **DECORATION)
    case.complete("apply_utilities", "reception1", **UTILITIES)
    assert case.task("open_water_power").role == ES
    case.complete("open_water_power", "engsup1", **WATER_POWER)
    case.complete("create_resident_file", "reception1", **RESIDENT_FILE)


def owner_moves_in(case, documents=OWNER_DOCUMENTS):
    """The ordinary path from the owner's arrival, with no defects found."""
    case.complete("check_documents", "reception1", **documents)
    do_paperwork(case)
    case.complete("hand_over_all_keys", "reception1", **ALL_KEYS)
    finish(case)


def assert_audit_sound(case) -> None:
    """Every executed element names its SOP clause, and the hash chain is intact."""
    completed = case.events(EventType.ELEMENT_COMPLETED) + case.events(EventType.TASK_COMPLETED)
    # the move-in visit it arranges is a follow-up rule (001/第2篇 1.6), not one of 第3篇
    missing = [e.element_id for e in completed if not (e.data.get("clause") or "").startswith("001/第3篇")
               and (e.element_id, e.data.get("clause")) != ("arrange_move_in_visit", "001/第2篇 1.6")]
    assert missing == [], f"completed without a 001/第3篇 clause: {missing}"
    with case.runtime.db.session() as session:
        assert audit.verify_chain(session).ok


# -- owner, documents and keys ------------------------------------------------------------

def test_owner_in_person_without_defects_takes_all_keys(start_case):
    case = notified_owner(start_case)
    case.complete("check_documents", "reception1", **OWNER_DOCUMENTS)
    # The owner came in time: the reminder and the report went with the waiting task.
    assert case.wait(days=30) == 0
    do_paperwork(case)
    assert [t.element_id for t in case.open_tasks()] == ["hand_over_all_keys"]
    case.complete("hand_over_all_keys", "reception1", **ALL_KEYS)
    finish(case)

    path = case.path()
    assert path.elements == NOTICE_ELEMENTS + IN_PERSON_ELEMENTS
    assert path.flows == NOTICE_FLOWS + IN_PERSON_FLOWS
    assert case.human_trail() == NOTICE_TRAIL + IN_PERSON_TRAIL
    assert case.events(EventType.TIMER_FIRED) == []
    assert case.status == "completed"
    assert case.open_tasks() == []
    assert_audit_sound(case)
    # the move-in visit (001/第2篇 1.6) is a case of its own for the assistant, about this owner
    [visit] = [e.data["reference"] for e in case.events(EventType.CASE_HANDED_OVER)]
    with case.runtime.db.session() as session:
        row = get_instance_row(session, visit)
        started = list_events(session, row.id)[0].data
        opened = [t.element_id for t in list_tasks(session, instance_id=row.id)]
    assert visit.startswith("HF-") and started["handed_over_from"] == case.reference
    assert {k: started["data"][k] for k in ("visit_kind", "resident", "unit")} == {
        "visit_kind": "move_in", "resident": "林先生", "unit": "3-2-1201"}
    assert opened == ["assistant_visit"]


def test_proxy_brings_power_of_attorney_and_agent_id(start_case):
    case = notified_owner(start_case)
    without_proxy_papers = {k: v for k, v in PROXY_DOCUMENTS.items() if k not in ("power_of_attorney", "agent_id")}
    with pytest.raises(FormInvalid) as refused:
        case.complete("check_documents", "reception1", **without_proxy_papers)
    assert sorted(e.field for e in refused.value.errors) == ["agent_id", "power_of_attorney"]
    case.complete("check_documents", "reception1", **PROXY_DOCUMENTS)
    case.complete("verify_proxy", "reception1", **VERIFY_PROXY)
    do_paperwork(case, dict(INSPECTION, inspected_with="agent"))
    case.complete("hand_over_all_keys", "reception1", **ALL_KEYS)
    finish(case)

    path = case.path()
    assert path.elements == NOTICE_ELEMENTS + ["check_documents", "gw_applicant", "verify_proxy",
                                               "gw_applicant_merge"] + PAPERWORK_ELEMENTS + ALL_KEYS_ELEMENTS \
        + FINISH_ELEMENTS
    assert path.flows == NOTICE_FLOWS + ["Flow_check_documents", "Flow_applicant_proxy", "Flow_verify_proxy"] \
        + PAPERWORK_FLOWS + ALL_KEYS_FLOWS + FINISH_FLOWS
    assert case.human_trail() == NOTICE_TRAIL + [("check_documents", R, "reception1"),
                                                 ("verify_proxy", R, "reception1")] \
        + PAPERWORK_TRAIL + ALL_KEYS_TRAIL + FINISH_TRAIL
    assert case.status == "completed"
    assert_audit_sound(case)


def test_company_buyer_brings_authorisation_letter_and_business_licence(start_case):
    case = notified_owner(start_case)
    with pytest.raises(FormInvalid) as refused:
        case.complete("check_documents", "reception1", **dict(COMPANY_DOCUMENTS, business_licence=False))
    assert [e.field for e in refused.value.errors] == ["business_licence"]
    # A company has no ID card or photos: they are not asked of it.
    case.complete("check_documents", "reception1", **COMPANY_DOCUMENTS)
    case.complete("verify_company", "reception1", **VERIFY_COMPANY)
    do_paperwork(case, dict(INSPECTION, inspected_with="agent"))
    case.complete("hand_over_all_keys", "reception1", **ALL_KEYS)
    finish(case)

    path = case.path()
    assert path.elements == NOTICE_ELEMENTS + ["check_documents", "gw_applicant", "verify_company",
                                               "gw_applicant_merge"] + PAPERWORK_ELEMENTS + ALL_KEYS_ELEMENTS \
        + FINISH_ELEMENTS
    assert path.flows == NOTICE_FLOWS + ["Flow_check_documents", "Flow_applicant_company", "Flow_verify_company"] \
        + PAPERWORK_FLOWS + ALL_KEYS_FLOWS + FINISH_FLOWS
    assert case.human_trail() == NOTICE_TRAIL + [("check_documents", R, "reception1"),
                                                 ("verify_company", R, "reception1")] \
        + PAPERWORK_TRAIL + ALL_KEYS_TRAIL + FINISH_TRAIL
    assert case.status == "completed"
    assert_audit_sound(case)


def test_defects_keep_one_entry_key_until_engineering_has_rectified_them(start_case):
    case = notified_owner(start_case)
    case.complete("check_documents", "reception1", **OWNER_DOCUMENTS)
    do_paperwork(case, dict(INSPECTION, defects=DEFECTS))
    assert [t.element_id for t in case.open_tasks()] == ["hand_over_keys_keep_one"]
    case.complete("hand_over_keys_keep_one", "reception1", **KEYS_KEEP_ONE)

    # Engineering follows the repairs while the owner carries on with the move-in.
    assert sorted(t.element_id for t in case.open_tasks()) == ["apply_decoration", "follow_rectification"]
    assert case.task("follow_rectification").role == ES
    assert case.task_view("follow_rectification").data["defects"] == DEFECTS
    finish(case)
    assert case.status == "running"  # the kept key is still out
    case.complete("follow_rectification", "engsup1", **RECTIFIED)
    case.complete("return_kept_key", "reception1", **KEY_RETURNED)

    path = case.path()
    assert path.elements == NOTICE_ELEMENTS + ["check_documents", "gw_applicant", "gw_applicant_merge"] \
        + PAPERWORK_ELEMENTS + ["hand_over_keys_keep_one", "gw_rectify_fork", "gw_keys_merge"] + FINISH_ELEMENTS \
        + ["follow_rectification", "return_kept_key", "end_rectified"]
    assert path.flows == NOTICE_FLOWS + ["Flow_check_documents", "Flow_applicant_owner"] + PAPERWORK_FLOWS \
        + ["Flow_defects", "Flow_hand_over_keys_keep_one", "Flow_rectify", "Flow_rectify_continue"] \
        + FINISH_FLOWS + ["Flow_follow_rectification", "Flow_return_kept_key"]
    assert case.human_trail() == NOTICE_TRAIL + [("check_documents", R, "reception1")] + PAPERWORK_TRAIL \
        + [("hand_over_keys_keep_one", R, "reception1")] + FINISH_TRAIL \
        + [("follow_rectification", ES, "engsup1"), ("return_kept_key", R, "reception1")]
    assert case.status == "completed"
    assert_audit_sound(case)


# -- the deadline -------------------------------------------------------------------------

def test_reminder_three_days_before_the_deadline(start_case, reminder_lead):
    case = notified_owner(start_case)
    reminder_at = at(DEADLINE) - reminder_lead
    assert reminder_at == at("2026-12-07T17:00:00+08:00")
    assert wait_until(case, reminder_at - timedelta(seconds=1)) == 0
    assert wait_until(case, reminder_at + timedelta(seconds=1)) == 1
    assert sorted(t.element_id for t in case.open_tasks()) == ["check_documents", "send_reminder"]
    case.complete("send_reminder", "reception1", reminder_method="phone", reminded_at=AT,
                  owner_reply="业主答应12月9日上午前来办理")
    case.runtime.clock.advance(days=1)
    owner_moves_in(case)  # before the deadline, so nobody is told
    fired = len(case.events(EventType.TIMER_FIRED))
    assert case.wait(days=30) == 1  # only the move-in visit's own case: its visit is overdue (001/第2篇 1.6)
    assert len(case.events(EventType.TIMER_FIRED)) == fired

    path = case.path()
    assert path.elements == NOTICE_ELEMENTS + ["timer_reminder", "send_reminder", "end_reminded"] \
        + IN_PERSON_ELEMENTS
    assert path.flows == NOTICE_FLOWS + ["Flow_reminder", "Flow_send_reminder"] + IN_PERSON_FLOWS
    assert case.human_trail() == NOTICE_TRAIL + [("send_reminder", R, "reception1")] + IN_PERSON_TRAIL
    assert [e.element_id for e in case.events(EventType.TIMER_FIRED)] == ["timer_reminder"]
    assert case.status == "completed"
    assert_audit_sound(case)


def overdue_case(start_case, reminder_lead):
    """An owner who never came: reminded 3 days before, reported once the deadline passed."""
    case = notified_owner(start_case)
    wait_until(case, at(DEADLINE) - reminder_lead + timedelta(seconds=1))
    case.complete("send_reminder", "reception1", reminder_method="letter", reminded_at=AT)
    assert wait_until(case, at(DEADLINE) - timedelta(seconds=1)) == 0
    assert wait_until(case, at(DEADLINE) + timedelta(seconds=1)) == 1
    assert sorted(t.element_id for t in case.open_tasks()) == ["check_documents", "report_overdue"]
    assert case.task("report_overdue").role == SUP
    case.complete("report_overdue", "supervisor1", reported_to="陈经理", reported_at=AT,
                  overdue_report="已邮寄通知书并于12月7日再次发函，业主仍未前来办理")
    assert case.task("decide_overdue").role == MGR
    return case


OVERDUE_ELEMENTS = ["timer_reminder", "send_reminder", "end_reminded", "timer_overdue", "report_overdue",
                    "decide_overdue", "gw_newspaper"]
OVERDUE_FLOWS = ["Flow_reminder", "Flow_send_reminder", "Flow_overdue", "Flow_report_overdue",
                 "Flow_decide_overdue"]
OVERDUE_TRAIL = [("send_reminder", R, "reception1"), ("report_overdue", SUP, "supervisor1"),
                 ("decide_overdue", MGR, "manager1")]


def test_past_the_deadline_leadership_has_a_newspaper_notice_published(start_case, reminder_lead):
    case = overdue_case(start_case, reminder_lead)
    case.complete("decide_overdue", "manager1", publish_notice=True, decision_notes="登报催办")
    case.complete("publish_newspaper", "supervisor1", newspaper="深圳特区报", published_on=AT,
                  newspaper_notice_text="请3-2-1201业主于十五日内前来办理入住手续")
    assert [t.element_id for t in case.open_tasks()] == ["check_documents"]
    owner_moves_in(case)  # late, but the ordinary path still runs

    path = case.path()
    assert path.elements == NOTICE_ELEMENTS + OVERDUE_ELEMENTS + ["publish_newspaper", "end_newspaper"] \
        + IN_PERSON_ELEMENTS
    assert path.flows == NOTICE_FLOWS + OVERDUE_FLOWS + ["Flow_newspaper", "Flow_publish_newspaper"] \
        + IN_PERSON_FLOWS
    assert case.human_trail() == NOTICE_TRAIL + OVERDUE_TRAIL + [("publish_newspaper", SUP, "supervisor1")] \
        + IN_PERSON_TRAIL
    assert [e.element_id for e in case.events(EventType.TIMER_FIRED)] == ["timer_reminder", "timer_overdue"]
    assert case.status == "completed"
    assert_audit_sound(case)


def test_past_the_deadline_leadership_decides_against_a_newspaper_notice(start_case, reminder_lead):
    case = overdue_case(start_case, reminder_lead)
    case.complete("decide_overdue", "manager1", publish_notice=False, decision_notes="由客服部继续电话联系")
    assert [t.element_id for t in case.open_tasks()] == ["check_documents"]
    owner_moves_in(case)

    path = case.path()
    assert path.elements == NOTICE_ELEMENTS + OVERDUE_ELEMENTS + ["end_no_newspaper"] + IN_PERSON_ELEMENTS
    assert path.flows == NOTICE_FLOWS + OVERDUE_FLOWS + ["Flow_no_newspaper"] + IN_PERSON_FLOWS
    assert case.human_trail() == NOTICE_TRAIL + OVERDUE_TRAIL + IN_PERSON_TRAIL
    assert case.status == "completed"
    assert_audit_sound(case)


# -- tenants ------------------------------------------------------------------------------

def test_tenant_meeting_all_four_conditions_is_registered(start_case):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("register_move_in", "reception1", **TENANT)
    case.complete("check_tenant_conditions", "reception1", **TENANT_READY)
    case.complete("register_tenant", "reception1", **REGISTER_TENANT)

    path = case.path()
    assert path.elements == ["start", "register_move_in", "gw_mover_type", "check_tenant_conditions",
                             "gw_tenant_ok", "register_tenant", "end_tenant"]
    assert path.flows == ["Flow_start", "Flow_register_move_in", "Flow_tenant", "Flow_check_tenant",
                          "Flow_tenant_ready", "Flow_register_tenant"]
    assert case.human_trail() == [("register_move_in", R, "reception1"), ("check_tenant_conditions", R, "reception1"),
                                  ("register_tenant", R, "reception1")]
    assert case.status == "completed"
    assert_audit_sound(case)


def test_tenant_missing_a_condition_is_checked_again_once_it_is_met(start_case):
    case = start_case(PROCESS, as_user="reception1")
    case.complete("register_move_in", "reception1", **TENANT)
    unpaid = dict(TENANT_READY, rent_paid=False)
    with pytest.raises(FormInvalid) as refused:  # what is missing must be written down
        case.complete("check_tenant_conditions", "reception1", **unpaid)
    assert [e.field for e in refused.value.errors] == ["missing_notes"]
    case.complete("check_tenant_conditions", "reception1", **unpaid, missing_notes="尚欠12月租金")
    assert [t.element_id for t in case.open_tasks()] == ["check_tenant_conditions"]
    case.complete("check_tenant_conditions", "reception1", **TENANT_READY)
    case.complete("register_tenant", "reception1", **REGISTER_TENANT)

    path = case.path()
    assert path.elements == ["start", "register_move_in", "gw_mover_type", "check_tenant_conditions",
                             "gw_tenant_ok", "check_tenant_conditions", "gw_tenant_ok", "register_tenant",
                             "end_tenant"]
    assert path.flows == ["Flow_start", "Flow_register_move_in", "Flow_tenant", "Flow_check_tenant",
                          "Flow_tenant_not_ready", "Flow_check_tenant", "Flow_tenant_ready", "Flow_register_tenant"]
    assert case.human_trail() == [("register_move_in", R, "reception1"), ("check_tenant_conditions", R, "reception1"),
                                  ("check_tenant_conditions", R, "reception1"), ("register_tenant", R, "reception1")]
    assert case.status == "completed"
    assert_audit_sound(case)
