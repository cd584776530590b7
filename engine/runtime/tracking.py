"""Derive what a step did from SpiffWorkflow task state changes.

SpiffWorkflow records task states, not which sequence flows were taken. A snapshot
of every task's state before the step, compared with the states after it, gives the
elements completed or cancelled in this step; a completed element's flow is the one
from its nearest completed ancestor element in the task tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.util.task import TaskState

from engine.audit.chain import NewEvent
from engine.audit.events import EventType
from engine.definitions.compiled import CompiledVersion
from engine.definitions.task_kinds import all_tasks, is_catching, is_element, is_human, is_timer, process_of
from engine.policy.followup import DATA_NAME as FOLLOWUP_DATA
from engine.policy.followup import FollowupDecision

_DEFINITE = TaskState.WAITING | TaskState.READY | TaskState.STARTED
_REACHED = _DEFINITE | TaskState.COMPLETED  # the flow into a task is taken once it is reached


CHARGE_MEASURE = "charge"  # engine/definitions/diagram.py MEASURES


def _amount(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class StepTracker:
    """Snapshot task states before a step; `events_after` reports the difference."""

    compiled: CompiledVersion
    instance_id: int
    before: dict
    open_before: frozenset[str]  # ids of the human tasks ready before the step

    @classmethod
    def snapshot(cls, compiled: CompiledVersion, instance_id: int, workflow) -> StepTracker:
        before, ready_human = {}, set()
        for task in all_tasks(workflow):
            before[task.id] = task.state
            if task.state == TaskState.READY and is_human(task):
                ready_human.add(str(task.id))
        return cls(compiled, instance_id, before, frozenset(ready_human))

    def events_after(self, workflow, actor: str | None, completions: dict | None = None) -> list[NewEvent]:
        """Events for flows taken and elements completed or cancelled since the snapshot, in order.

        `completions` maps the ids of tasks a person completed in this step to the
        submitted form data, recorded with their `task_completed` event.
        """
        completions = completions or {}
        changed = [t for t in all_tasks(workflow) if is_element(t) and t.state != self.before.get(t.id)]
        changed.sort(key=lambda t: (t.last_state_change, t.depth))
        events = []
        for task in changed:
            old = self.before.get(task.id, TaskState.MAYBE)
            if task.state & _REACHED and not old & _REACHED:
                events.extend(self._flow_events(task))
            if task.state == TaskState.CANCELLED and old & _DEFINITE and not is_catching(task):
                events.append(self._event(EventType.ELEMENT_CANCELLED, task, actor))
            elif task.state == TaskState.COMPLETED:
                if is_timer(task):
                    events.append(self._event(EventType.TIMER_FIRED, task, "system"))
                if task.id in completions:
                    event = self._event(EventType.TASK_COMPLETED, task, actor)
                    event.data["submitted"] = completions[task.id]
                    events.append(event)
                else:
                    events.append(self._event(EventType.ELEMENT_COMPLETED, task, actor if is_human(task) else "system"))
                    events.extend(self._followup_decided(task))
        return events

    def _followup_decided(self, task) -> list[NewEvent]:
        """The follow-up decision a script task just made (not one the case already held)."""
        if not isinstance(task.task_spec, ScriptTask):
            return []
        decision = FollowupDecision.from_data(task.data.get(FOLLOWUP_DATA))
        if decision is None or task.parent is None or task.parent.data.get(FOLLOWUP_DATA) == task.data[FOLLOWUP_DATA]:
            return []
        return [NewEvent(EventType.FOLLOWUP_DECIDED, self.instance_id, "system", task.task_spec.bpmn_id,
                         decision.as_data())]

    def _flow_events(self, task) -> list[NewEvent]:
        pid = process_of(task)
        ancestor = task.parent
        while ancestor is not None:
            if is_element(ancestor):
                flows = self.compiled.flows_between(pid, ancestor.task_spec.bpmn_id, task.task_spec.bpmn_id)
                if flows:
                    return [NewEvent(EventType.FLOW_TAKEN, self.instance_id, "system", flow,
                                     {"process": pid, "source": ancestor.task_spec.bpmn_id,
                                      "target": task.task_spec.bpmn_id}) for flow in flows]
            ancestor = ancestor.parent
        return []

    def _event(self, type_: str, task, actor) -> NewEvent:
        pid = process_of(task)
        element = self.compiled.element(pid, task.task_spec.bpmn_id)
        data = {"process": pid, "name": element.get("name") or task.task_spec.bpmn_name,
                "clause": element.get("clause")}
        if is_human(task):
            data["role"] = self.compiled.rules.role_for_lane(task.task_spec.lane)
        if element.get("measure"):
            data["measure"] = element["measure"]  # what the statistics count this step as
            if element["measure"] == CHARGE_MEASURE and type_ == EventType.ELEMENT_COMPLETED:
                data["charge"] = _amount(task.data.get("charge"))  # as computed now, by the version's prices
        return NewEvent(type_, self.instance_id, actor, task.task_spec.bpmn_id, data)
