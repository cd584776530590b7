"""What the statistics read in the audit trail: event types, and the elements, flows
and form fields of the SOP diagrams that mean "arrived", "reopened", "charged", ...

Kept in one place so that a diagram change that renames one of these shows up here.
"""

from __future__ import annotations

from engine.audit.events import EventType

INSTANCE_STARTED = EventType.INSTANCE_STARTED
TASK_COMPLETED = EventType.TASK_COMPLETED
ELEMENT_COMPLETED = EventType.ELEMENT_COMPLETED
FLOW_TAKEN = EventType.FLOW_TAKEN
INSTANCE_FINISHED = EventType.INSTANCE_FINISHED
CANCELLED = EventType.CANCELLED
MIGRATED = EventType.MIGRATED
FOLLOWUP_DECIDED = EventType.FOLLOWUP_DECIDED  # data: category, rate, draw, sampled (the follow-up policy)

# Case states in the facts.
OPEN, COMPLETED = "open", "completed"

# The staff member reached the scene: 即时到场 / 预约到场 / 公共设施到场 (001/第8篇 4.1–4.2), 浸水到场;
# newer diagrams say so on the element instead (`measure: arrival`, engine/definitions/diagram.py).
ARRIVAL_ELEMENTS = frozenset({"arrive_now", "arrive_appointment", "arrive_public", "go_to_scene"})
ARRIVAL = "arrival"

# A round of checkpoints (巡楼, 001/第1篇 2.3–2.5): the step marked `measure: round` submits how
# many were signed in and whether on time; the case's start data says how many were planned.
ROUND = "round"
ROUND_PLANNED, ROUND_VISITED, ROUND_ON_TIME = "planned_checkpoints", "checkpoints_visited", "on_schedule"


def is_arrival(element: str, data: dict) -> bool:
    """Whether a completed task's event means the staff reached the scene."""
    return element in ARRIVAL_ELEMENTS or data.get("measure") == ARRIVAL

# A dissatisfied follow-up visit sends the case back to be handled again (不满意，重新处理).
REOPEN_FLOWS = frozenset({"Flow_dissatisfied", "Flow_visit_dissatisfied"})

# Complaint classes (003 5.1): the flow the classification gateway takes.
COMPLAINT_CLASS_GATEWAY = "gw_class"
VALID, ASSISTANCE, EXCESSIVE = "valid", "assistance", "excessive"
COMPLAINT_CLASS_BY_TARGET = {"explain_excessive": EXCESSIVE, "assist_other_party": ASSISTANCE}
COMPLAINT_CLASSES = (VALID, ASSISTANCE, EXCESSIVE)

# Paid repairs (001/第8篇 4.1 6)): the form fields the charge script reads, the script, the collection.
CHARGE_FIELDS = ("item", "corrected_item", "quantity", "quoted_price")
CHARGE_ELEMENT = "compute_charge"
FEE_COLLECTED_ELEMENT = "collect_fee"
# Newer diagrams say so on the element: `measure: charge` (the event carries the computed
# charge) and `measure: fee_collected` (paid_service's bill_charge: finance has it).
CHARGE, FEE_COLLECTED = "charge", "fee_collected"
UNLISTED = "unlisted"

SATISFIED = "satisfied"  # 满意; basically_satisfied (基本满意) is a visit but not 满意

_ALWAYS = frozenset({INSTANCE_STARTED, TASK_COMPLETED, INSTANCE_FINISHED, CANCELLED, MIGRATED, FOLLOWUP_DECIDED})


def is_relevant(event: dict) -> bool:
    """Whether an event can change a case's fact (most flow and element events cannot)."""
    kind = event["type"]
    if kind in _ALWAYS:
        return True
    if kind == FLOW_TAKEN:
        element = event["element_id"]
        return element in REOPEN_FLOWS or (event["data"] or {}).get("source") == COMPLAINT_CLASS_GATEWAY
    return kind == ELEMENT_COMPLETED and (
        event["element_id"] == CHARGE_ELEMENT or (event["data"] or {}).get("measure") == CHARGE)
