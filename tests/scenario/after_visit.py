"""The after-emergency visit (001/第2篇 1.6) an emergency procedure opens when it is done:
how its scenario tests find the visit case it handed over and check both trails."""

from __future__ import annotations

from engine.audit.events import EventType
from engine.runtime.queries import get_instance_row, list_events

PHONE_VISIT = dict(visit_mode="phone", visit_result="satisfied", visit_record="住户满意，已恢复正常", new_issue="none")
CHECK = dict(check_opinion="回访及时，记录完整", signed=True)
# customer_visit's path for a visit by the property assistant, checked by the CS supervisor
VISIT_ELEMENTS = ["start", "decide_followup", "gw_sampled", "gw_kind", "assistant_visit", "gw_visit_merge",
                  "count_visit", "gw_raised", "gw_check_merge", "gw_assistant_visit", "supervisor_check", "end"]
VISIT_TRAIL = [("assistant_visit", "reception", "reception1"), ("supervisor_check", "cs_supervisor", "supervisor1")]


def handed_over_visits(case) -> list[str]:
    """The references of the cases `case` handed over, each a customer visit."""
    handed = case.events(EventType.CASE_HANDED_OVER)
    assert all(e.data["process"] == "customer_visit" for e in handed), [e.data for e in handed]
    return [e.data["reference"] for e in handed]


def assert_after_emergency_visit(case, resident: str, unit: str):
    """`case` (finished) opened exactly one after-emergency visit of `resident` at `unit`,
    from its arrange_after_visit step; the visit is made and checked. Returns the visit case."""
    assert case.status == "completed"
    [arranged] = [e for e in case.events(EventType.ELEMENT_COMPLETED) if e.element_id == "arrange_after_visit"]
    assert arranged.data.get("clause") == "001/第2篇 1.6"
    [reference] = handed_over_visits(case)
    with case.runtime.db.session() as session:
        row = get_instance_row(session, reference)
        started = list_events(session, row.id)[0]
    visit = type(case)(case.runtime, row.id, reference)  # the scenario driver's Case, for the visit
    assert reference.startswith("HF-") and started.data["handed_over_from"] == case.reference
    assert {k: started.data["data"][k] for k in ("visit_kind", "resident", "unit")} == {
        "visit_kind": "after_emergency", "resident": resident, "unit": unit}
    assert [t.element_id for t in visit.open_tasks()] == ["assistant_visit"]  # the property assistant visits
    visit.complete("assistant_visit", "reception1", **PHONE_VISIT)
    visit.complete("supervisor_check", "supervisor1", **CHECK)
    assert visit.path().elements == VISIT_ELEMENTS
    assert visit.human_trail() == VISIT_TRAIL
    assert visit.status == "completed"
    return visit
