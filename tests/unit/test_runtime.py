"""The runtime's promises, on a small test process (`tests/unit/bundle/`): steps are
atomic, stale writes conflict, timers fire from a fake clock, failures are recoverable."""

from __future__ import annotations

import threading
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy import func, select

import engine.runtime.transaction as runtime_module
from engine.accounts.users import load_demo_staff
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.library import Bundle, deploy_bundle, read_bundle
from engine.definitions.rules import load_rules
from engine.errors import (
    ConflictError,
    FormInvalid,
    InstanceNotRunning,
    NotFound,
    NothingWaiting,
    PermissionDenied,
    TaskNotReady,
)
from engine.runtime.queries import get_task
from engine.runtime.step import Runtime
from engine.stats import projection
from engine.store.models import Event, HumanTask, Instance, ProcessVersion, Timer

BUNDLE_DIR = Path(__file__).parent / "bundle"
RETRY_BUNDLE_DIR = Path(__file__).parent / "retry_bundle"


@pytest.fixture(scope="module")
def mini_bundle(library) -> Bundle:
    bundle = read_bundle(BUNDLE_DIR / "processes", BUNDLE_DIR / "forms")
    bundle.rules = dict(library.rules)
    return bundle


@pytest.fixture
def rt(db, mini_bundle, clock) -> Runtime:
    runtime = Runtime(db, clock)
    with runtime.transaction() as session:
        load_demo_staff(session, load_rules(mini_bundle.rules))
        deploy_bundle(session, mini_bundle, actor="designer1")
    return runtime


def start(rt, **data):
    return rt.start_instance("mini", {"caller": "林先生", "unit": "3-2-1201", **data}, "reception1")


def only_task(result):
    assert len(result.open_tasks) == 1, result.open_tasks
    return result.open_tasks[0]


def count(rt, model, *where):
    with rt.db.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


# -- versions ---------------------------------------------------------------------------

def test_redeploying_unchanged_bundle_creates_no_version(rt, mini_bundle):
    with rt.transaction() as session:
        results = deploy_bundle(session, mini_bundle, actor="designer1")
    assert [(r.process_id, r.version, r.created) for r in results] == [("mini", 1, False), ("mini_rule", 1, False),
                                                                     ("mini_signal", 1, False)]
    assert count(rt, ProcessVersion) == 3


def test_changed_diagram_becomes_new_version_and_running_cases_stay(rt, mini_bundle):
    first = start(rt)
    changed = Bundle(dict(mini_bundle.bpmn), mini_bundle.dmn, mini_bundle.forms, mini_bundle.rules)
    changed.bpmn["mini.bpmn"] = changed.bpmn["mini.bpmn"].replace("登记求助".encode(), "登记住户求助".encode(), 1)
    with rt.transaction() as session:
        results = deploy_bundle(session, changed, actor="designer1", note="rename")
    assert [(r.process_id, r.version, r.created) for r in results] == [("mini", 2, True), ("mini_rule", 1, False),
                                                                     ("mini_signal", 1, False)]
    second = start(rt)
    assert (first.instance.version, second.instance.version) == (1, 2)
    assert rt.start_instance("mini", {}, "reception1", version=1).instance.version == 1


def test_spec_is_stored_once_per_version_not_per_instance(rt):
    result = start(rt)
    with rt.db.session() as session:
        state = session.get(Instance, result.instance.id).state_json
    assert '"task_specs"' not in state and len(state) < 20_000


# -- starting and completing ---------------------------------------------------------------

def test_start_gives_reference_and_first_task_with_due_time(rt, clock):
    result = start(rt)
    task = only_task(result)
    assert result.instance.reference == "CS-20261123-0001"
    assert start(rt).instance.reference == "CS-20261123-0002"
    assert (task.element_id, task.role) == ("register", "reception")
    assert (task.due_at - clock.now()).total_seconds() == 5 * 60  # help.reply at the default site


def test_unknown_process_and_unknown_user_are_refused(rt):
    with pytest.raises(NotFound, match="not deployed"):
        rt.start_instance("nope", {}, "reception1")
    with pytest.raises(NotFound, match="unknown user"):
        rt.start_instance("mini", {}, "intruder")


def test_invalid_form_data_gets_field_errors_and_changes_nothing(rt):
    task = only_task(start(rt))
    before = count(rt, Event)
    with pytest.raises(FormInvalid) as caught:
        rt.complete_task(task.id, {"divisor": -1, "unit": "12楼"}, "reception1")
    fields = {e.field: e.message for e in caught.value.errors}
    assert set(fields) == {"divisor", "unit", "wait_for_ambulance"}
    assert count(rt, Event) == before
    assert rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1")


def test_guard_cannot_complete_reception_task(rt):
    task = only_task(start(rt))
    with pytest.raises(PermissionDenied, match="reception"):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "guard1")


def test_completed_task_cannot_be_completed_again(rt):
    task = only_task(start(rt))
    rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1")
    with pytest.raises(TaskNotReady, match="already completed by reception1"):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1")
    with pytest.raises(NotFound):
        rt.complete_task("not-a-task", {}, "reception1")


def test_claimed_task_is_only_for_its_holder_until_released(rt):
    task = only_task(start(rt))
    rt.claim_task(task.id, "reception1")
    with pytest.raises(TaskNotReady, match="claimed by reception1"):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception3")
    with pytest.raises(PermissionDenied):
        rt.unclaim_task(task.id, "reception3")
    rt.unclaim_task(task.id, "reception1")
    rt.reassign_task(task.id, "reception3", "supervisor1")
    rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception3")
    with rt.db.session() as session:
        types = [e.type for e in audit.instance_events(session, task.instance_id)]
    assert [t for t in types if t.startswith("task_") and t != "task_ready"] == [
        "task_claimed", "task_unclaimed", "task_reassigned", "task_completed"]


def test_stale_write_conflicts_and_exactly_one_wins(rt):
    task = only_task(start(rt))
    seen_version = task.lock_version
    rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1",
                     expected_version=seen_version)
    with pytest.raises(ConflictError, match="changed by someone else"):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception3",
                         expected_version=seen_version)
    assert count(rt, Event, Event.type == EventType.TASK_COMPLETED) == 1


def test_two_clerks_racing_on_one_task_exactly_one_wins(rt, monkeypatch):
    """Both submit at once: one completes the task, the other gets a conflict.

    The first step to hold the case waits until the other clerk's step is as far as the
    database lets it go meanwhile: on PostgreSQL it has read the row too; SQLite takes
    the write lock at BEGIN, so there the other step has started and waits at its BEGIN.
    """
    task = only_task(start(rt))
    clerks = ("reception1", "reception3")
    meeting = "read" if rt.db.is_postgres else "started"
    reached = {"started": set(), "read": set()}
    together = threading.Condition()
    waited_in_vain = []

    def arrive(stage: str) -> None:
        with together:
            reached[stage].add(threading.current_thread().name)
            together.notify_all()

    original_transaction, original_advance = Runtime.transaction, Runtime._advance

    def transaction(self):
        if threading.current_thread().name in clerks:
            arrive("started")
        return original_transaction(self)

    def advance_together(self, *args, **kwargs):
        arrive("read")
        with together:
            if not together.wait_for(lambda: len(reached[meeting]) == 2, timeout=10):
                waited_in_vain.append(threading.current_thread().name)
        return original_advance(self, *args, **kwargs)

    monkeypatch.setattr(Runtime, "transaction", transaction)
    monkeypatch.setattr(Runtime, "_advance", advance_together)
    outcomes = []

    def submit(user):
        try:
            rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, user,
                             expected_version=task.lock_version)
            outcomes.append("won")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=submit, args=(user,), name=user) for user in clerks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert waited_in_vain == [], f"the other clerk's step never reached its {meeting}"
    assert sorted(outcomes) == ["conflict", "won"]
    assert count(rt, Event, Event.type == EventType.TASK_COMPLETED) == 1


# -- messages, timers, errors ------------------------------------------------------------------

def test_message_reaches_waiting_case_and_is_refused_otherwise(rt):
    result = start(rt)
    with pytest.raises(NothingWaiting):
        rt.send_message(result.instance.id, "ambulance_arrived", actor="guard1")
    task = only_task(result)
    after = rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": True}, "reception1")
    assert after.open_tasks == []
    arrived = rt.send_message(result.instance.reference, "ambulance_arrived", {"plate": "粤B"}, "guard1")
    assert only_task(arrived).element_id == "review"
    with rt.db.session() as session:
        path = audit.executed_path(session, result.instance.id)
    assert path.elements == ["start", "register", "compute", "gw_wait", "wait_arrival"]
    assert path.flows == ["Flow_start", "Flow_register", "Flow_compute", "Flow_wait", "Flow_arrived"]


@pytest.mark.parametrize("basis, expected", [
    ("overcharging", "valid"), ("developer_defect", "assistance"), ("facility_not_in_plan", "excessive")])
def test_business_rule_task_classifies_with_the_decision_table(rt, basis, expected):
    result = rt.start_instance("mini_rule", {"basis": basis}, "reception1")
    assert result.instance.status == "completed"
    with rt.db.session() as session:
        state = session.get(Instance, result.instance.id).state_json
        path = audit.executed_path(session, result.instance.id)
    assert f'"complaint_class":"{expected}"' in state
    assert path.elements == ["rule_start", "classify", "rule_end"]


def test_signal_from_outside_reaches_a_waiting_case(rt):
    started = rt.start_instance("mini_signal", {}, "reception1")
    assert started.instance.status == "running" and started.open_tasks == []
    done = rt.send_message(started.instance.id, "resident_cancels", {"reason": "已自行就医"}, "reception1")
    assert done.instance.status == "completed"
    with rt.db.session() as session:
        received = [e for e in audit.instance_events(session, started.instance.id) if e.type == EventType.SIGNAL_RECEIVED]
        path = audit.executed_path(session, started.instance.id)
    assert [(e.element_id, e.data["name"]) for e in received] == [("wait_cancel", "resident_cancels")]
    assert path.elements == ["signal_start", "wait_cancel", "signal_end"]
    assert path.flows == ["Flow_signal_start", "Flow_cancelled"]


def test_a_timer_is_not_waiting_for_a_message_of_its_name(rt):
    """Sending the name of a waiting timer (its element's name) must not pass for a message delivered."""
    review = only_task(rt.complete_task(only_task(start(rt)).id, {"divisor": 5, "wait_for_ambulance": False},
                                        "reception1"))
    with pytest.raises(NothingWaiting):
        rt.send_message(review.instance_id, "审核超时", {}, "reception1")  # review_overdue's name
    assert count(rt, Event, Event.type.in_([EventType.MESSAGE_RECEIVED, EventType.SIGNAL_RECEIVED])) == 0
    assert count(rt, Timer) == 1
    with rt.db.session() as session:
        assert get_task(session, review.id, with_form=False).status == "ready"


def test_timer_fires_once_from_site_policy_with_fake_clock(rt, clock):
    # help.reply is 10 minutes at Binhai; its clerk opens the case there
    result = rt.start_instance("mini", {"caller": "林先生", "unit": "3-2-1201", "site": "binhai"}, "reception2")
    rt.complete_task(only_task(result).id, {"divisor": 5, "wait_for_ambulance": False}, "reception2")
    assert count(rt, Timer) == 1
    clock.advance(minutes=9)
    assert rt.fire_due_timers() == 0
    clock.advance(minutes=1, seconds=1)
    assert rt.fire_due_timers() == 1
    assert rt.fire_due_timers() == 0
    with rt.db.session() as session:
        open_tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == result.instance.id)
                                     .order_by(HumanTask.created_at)).all()
        path = audit.executed_path(session, result.instance.id)
        fired = session.scalars(select(Event).where(Event.type == EventType.TIMER_FIRED)).all()
    assert [(t.element_id, t.status.value) for t in open_tasks] == [
        ("register", "completed"), ("review", "cancelled"), ("escalate", "ready")]
    assert [e.element_id for e in fired] == ["review_overdue"]
    assert path.flows[-1] == "Flow_overdue"
    assert count(rt, Timer) == 0


def test_script_failure_puts_case_in_error_and_retry_recovers(rt):
    task = only_task(start(rt))
    result = rt.complete_task(task.id, {"divisor": 0, "wait_for_ambulance": False}, "reception1")
    view = result.instance
    assert view.status == "error"
    assert (view.error_element, view.error_line) == ("compute", 1)
    assert "ZeroDivisionError" in view.error_message
    with pytest.raises(InstanceNotRunning):
        rt.send_message(view.id, "ambulance_arrived")
    retried = rt.retry_instance(view.id, {"divisor": 4}, "supervisor1")
    assert retried.instance.status == "running"
    assert only_task(retried).element_id == "review"
    with rt.db.session() as session:
        types = [e.type for e in audit.instance_events(session, view.id)]
        submitted = session.scalars(select(Event).where(Event.type == EventType.TASK_COMPLETED)).one()
    assert types.index("error") < types.index("retried")
    assert submitted.data["submitted"]["divisor"] == 0  # what the clerk typed is kept


def test_retry_runs_the_failed_element_again_with_the_corrected_data(rt):
    task = only_task(start(rt))
    failed = rt.complete_task(task.id, {"divisor": 0, "wait_for_ambulance": False}, "reception1").instance
    retried = rt.retry_instance(failed.id, {"divisor": 4}, "supervisor1")
    with rt.db.session() as session:
        review = get_task(session, only_task(retried).id)
        path = audit.executed_path(session, failed.id)
    assert (review.data["divisor"], review.data["priority"]) == (4, 25)  # the script ran on the correction
    assert path.elements == ["start", "register", "compute", "gw_wait"]  # review is open, not yet run
    assert (retried.instance.error_element, retried.instance.error_message) == (None, None)


def test_retry_runs_a_failed_pre_script_again_before_the_task_opens(db, mini_bundle, clock):
    bundle = read_bundle(RETRY_BUNDLE_DIR / "processes", BUNDLE_DIR / "forms")
    bundle.rules = dict(mini_bundle.rules)
    rt = Runtime(db, clock)
    with rt.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="designer1")
    failed = rt.start_instance("prepared_review", {"caller": "林先生"}, "reception1")
    assert (failed.instance.status, failed.instance.error_element, failed.open_tasks) == ("error", "review", [])
    retried = rt.retry_instance(failed.instance.id, {"title": "leak"}, "supervisor1")
    assert retried.instance.status == "running"
    with rt.db.session() as session:
        review = get_task(session, only_task(retried).id)
    assert (review.data["title"], review.data["label"]) == ("leak", "LEAK")


def test_cancel_needs_reason_and_closes_open_tasks(rt):
    result = start(rt)
    with pytest.raises(PermissionDenied):
        rt.cancel_instance(result.instance.id, "住户取消", "guard1")
    cancelled = rt.cancel_instance(result.instance.id, "住户取消", "supervisor1")
    assert cancelled.instance.status == "cancelled" and cancelled.open_tasks == []
    assert cancelled.instance.cancel_reason == "住户取消"
    with pytest.raises(InstanceNotRunning):
        rt.cancel_instance(result.instance.id, "again", "supervisor1")


def test_task_view_carries_instructions_clause_form_and_case_data(rt):
    task = only_task(start(rt))
    with rt.db.session() as session:
        view = get_task(session, task.id)
    assert view.clause == "000 篇3 3.3"
    assert view.instructions == "住户：{{ caller }}"
    assert view.form_schema["title"] == "登记求助"
    assert view.data["caller"] == "林先生"


def test_audit_chain_verifies_and_detects_tampering(rt):
    task = only_task(start(rt))
    rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1")
    with rt.db.session() as session:
        assert audit.verify_chain(session).ok
        target = session.scalars(select(Event).where(Event.type == EventType.TASK_COMPLETED)).one()
        target_id = target.id
    with rt.db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE event SET actor = 'someone_else' WHERE id = {target_id}")
    with rt.db.session() as session:
        result = audit.verify_chain(session)
    assert not result.ok and result.first_broken_id == target_id and "altered" in result.reason


def test_audit_verify_detects_deleted_and_inserted_rows(rt):
    case_id = start(rt).instance.id
    with rt.db.session() as session:  # the case's own chain
        ids = session.scalars(select(Event.id).where(Event.instance_id == case_id).order_by(Event.id)).all()
    with rt.db.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM event WHERE id = {ids[1]}")
    with rt.db.session() as session:
        result = audit.verify_chain(session)
    assert not result.ok and result.first_broken_id == ids[2]
    with rt.db.engine.begin() as conn:
        conn.exec_driver_sql(f"DELETE FROM event WHERE id >= {ids[2]} AND instance_id = {case_id}")
    with rt.db.session() as session:
        result = audit.verify_chain(session)
    assert not result.ok and result.first_broken_id == ids[-1] and "newest rows deleted" in result.reason


def test_a_step_that_fails_while_writing_leaves_no_trace(rt, monkeypatch):
    result = start(rt)
    task = only_task(result)
    with rt.db.session() as session:
        before = session.get(Instance, result.instance.id)
        state, lock = before.state_json, before.lock_version
    events_before = count(rt, Event)

    def broken_append(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(projection, "append_events", broken_append)  # the chain append the step makes
    with pytest.raises(RuntimeError, match="disk full"):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1")
    with rt.db.session() as session:
        after = session.get(Instance, result.instance.id)
        task_row = session.get(HumanTask, task.id)
        assert (after.state_json, after.lock_version) == (state, lock)
        assert task_row.status.value == "ready"
    assert count(rt, Event) == events_before


def _count_restores(monkeypatch) -> list:
    """Record each restore of a workflow from its stored state (with the test-only comparison off)."""
    monkeypatch.setattr(Runtime, "check_live_workflows", False)
    restores = []
    real = runtime_module.load_state
    monkeypatch.setattr(runtime_module, "load_state", lambda *args: restores.append(1) or real(*args))
    return restores


def test_the_next_step_on_a_case_reuses_the_workflow_its_last_step_left(rt, monkeypatch):
    restores = _count_restores(monkeypatch)
    task = only_task(start(rt))
    review = only_task(rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1"))
    result = rt.complete_task(review.id, {"approved": True}, "supervisor1")
    assert result.instance.status == "completed"
    assert restores == []


def test_a_case_another_runtime_stepped_is_restored_from_its_stored_state(rt, monkeypatch):
    restores = _count_restores(monkeypatch)
    task = only_task(start(rt))  # rt keeps the started workflow
    other = Runtime(rt.db, rt.clock)  # another server process, say
    review = only_task(other.complete_task(task.id, {"divisor": 4, "wait_for_ambulance": False}, "reception1"))
    assert restores == [1]
    rt.complete_task(review.id, {"approved": True}, "supervisor1")  # rt's kept workflow is one step behind
    assert restores == [1, 1]
    with rt.db.session() as session:
        register = session.scalars(select(Event).where(Event.type == EventType.TASK_COMPLETED)).first()
    assert register.data["submitted"]["divisor"] == 4


def test_a_step_that_fails_leaves_no_workflow_behind(rt, monkeypatch):
    task = only_task(start(rt))
    assert len(rt.live) == 1
    with pytest.raises(PermissionDenied):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "guard1")
    assert len(rt.live) == 1  # refused before the workflow was taken
    monkeypatch.setattr(projection, "append_events", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1")
    assert len(rt.live) == 0  # the workflow it changed is gone, not kept for the next step
    monkeypatch.undo()
    review = only_task(rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1"))
    assert review.element_id == "review"


def test_a_kept_workflow_whose_data_the_stored_state_would_change_is_caught(rt):
    task = only_task(start(rt))
    kept = next(iter(rt.live._kept.values())).workflow
    ready = kept.get_task_from_id(UUID(task.id))
    ready.data["divisor_options"] = (2, 5)  # a tuple comes back from JSON as a list
    with pytest.raises(RuntimeError, match="kept workflow is not its stored state"):
        rt.complete_task(task.id, {"divisor": 5, "wait_for_ambulance": False}, "reception1")


def test_reads_go_on_while_a_step_holds_the_write_lock(rt):
    """A dashboard or task page never waits for a step in progress (nor holds one up)."""
    reference = start(rt).instance.reference
    read = {}

    def read_case():
        with rt.db.read_session() as session:
            read["reference"] = session.scalar(select(Instance.reference))

    with rt.transaction() as session:
        session.execute(select(Instance.id).limit(1))  # the step's transaction has begun (and locked)
        reader = threading.Thread(target=read_case)
        reader.start()
        reader.join(timeout=5)
        assert not reader.is_alive(), "the read waited for the step's lock"
    assert read["reference"] == reference
