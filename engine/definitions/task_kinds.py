"""Kinds of SpiffWorkflow tasks: BPMN elements, human tasks, timers and other catching events.

One place that knows how SpiffWorkflow 3.2.0 marks them, for the step, its rows and its clocks.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition


def all_tasks(workflow):
    """Every task of the workflow and of its call activities and sub-processes."""
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def is_element(task) -> bool:
    """True for tasks that stand for a BPMN element (not SpiffWorkflow's internal helpers)."""
    return getattr(task.task_spec, "bpmn_id", None) is not None


def is_human(task) -> bool:
    return is_element(task) and bool(getattr(task.task_spec, "manual", False))


def process_of(task) -> str:
    return task.workflow.spec.name


def is_catching(task) -> bool:
    """Catching events (e.g. a boundary timer) are withdrawn, not cancelled, when their task ends first."""
    return getattr(task.task_spec, "event_definition", None) is not None


def is_timer(task) -> bool:
    definition = getattr(task.task_spec, "event_definition", None)
    return isinstance(definition, TimerEventDefinition)
