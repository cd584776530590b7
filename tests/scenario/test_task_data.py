"""Showing a task reads its data straight from the stored state (engine.state.load_task_data)
instead of restoring the whole workflow; both must give every task the same data, in the
triage process and in the procedure it calls, at every step of a case."""

from emergency_path import T
from test_help_request import arrange_special, register

from engine.definitions.compiled import VERSIONS
from engine.definitions.state import load_state, load_task_data
from engine.runtime.queries import get_instance_row


def assert_quick_read_matches_restore(case):
    with case.runtime.db.session() as session:
        row = get_instance_row(session, case.instance_id)
        compiled = VERSIONS.get(session, row.version_id)
        workflow = load_state(row.state_json, compiled.spec, compiled.subprocess_specs, compiled.script_engine)
        tasks = workflow.get_tasks()
        assert any(task.workflow is not workflow for task in tasks), "no called procedure's tasks to compare"
        for task in tasks:
            assert load_task_data(row.state_json, str(task.id)) == task.data, task.task_spec.name


def test_every_tasks_data_read_from_state_equals_the_restored_workflows(start_case):
    case = register(start_case, "emergency_patient", "老人在家晕倒")
    assert_quick_read_matches_restore(case)
    arrange_special(case, "急救病人")
    case.complete("choose_help", "reception1", unit="3-2-1201", phone="13800000000", condition="摔伤",
                  help_type="hospital", major=False)
    assert_quick_read_matches_restore(case)
    case.complete("notify_security_lead", "reception1", security_lead_name="刘队长", lead_notified_at=T)
    case.complete("dispatch_guards", "seclead1", guards=["赵刚", "孙伟"], standby_place="patient_home")
    assert_quick_read_matches_restore(case)
    assert case.task_view("arrange_vehicle").data["condition"] == "摔伤"


def test_an_unknown_task_has_no_data(start_case):
    case = register(start_case, "emergency_patient", "老人在家晕倒")
    with case.runtime.db.session() as session:
        state = get_instance_row(session, case.instance_id).state_json
    assert load_task_data(state, "00000000-0000-0000-0000-000000000000") is None
