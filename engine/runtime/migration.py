"""Moving a running case to a newer version of its process, when that is safe.

SpiffWorkflow's workflow diff aligns the case's tasks with the new version's task
specs. A case may move only when every task it has (finished ones included, since
their history stays in the tree) still has a spec in the new version and every
process it is inside of still exists; changed steps that are ready or waiting are
re-predicted from the new diagram.
"""

from __future__ import annotations

from dataclasses import dataclass

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow

from engine.definitions.state import SPEC_REGISTRY


@dataclass
class MigrationPlan:
    problems: list[str]
    changed: list[str]
    _diffs: tuple = ()

    @property
    def safe(self) -> bool:
        return not self.problems


def plan_migration(workflow, new_spec, new_subprocess_specs: dict) -> MigrationPlan:
    """What moving `workflow` onto `new_spec` would do, and why it would not be safe."""
    top, subs = diff_workflow(SPEC_REGISTRY, workflow, new_spec, new_subprocess_specs)
    problems = [f"step {t.task_spec.bpmn_id or t.task_spec.name} is not in the new version" for t in top.removed
                if getattr(t.task_spec, "bpmn_id", None)]
    changed = [t.task_spec.bpmn_id for t in top.changed if getattr(t.task_spec, "bpmn_id", None)]
    for sub_id, diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        if diff is None:
            problems.append(f"called process {sub.spec.name} is not in the new version")
            continue
        problems += [f"step {t.task_spec.bpmn_id} of {sub.spec.name} is not in the new version"
                     for t in diff.removed if getattr(t.task_spec, "bpmn_id", None)]
        changed += [t.task_spec.bpmn_id for t in diff.changed if getattr(t.task_spec, "bpmn_id", None)]
    if any(not getattr(t.task_spec, "bpmn_id", None) for t in top.removed):
        problems.append("the new version's structure does not line up with this case")
    return MigrationPlan(problems, sorted(set(changed)), (top, subs))


def apply_migration(workflow, plan: MigrationPlan, new_spec, new_subprocess_specs: dict) -> None:
    """Point the case at the new specs; only call with a safe plan."""
    top, subs = plan._diffs
    migrate_workflow(top, workflow, new_spec)
    for sub_id, diff in subs.items():
        sub = workflow.subprocesses[sub_id]
        migrate_workflow(diff, sub, new_subprocess_specs[sub.spec.name])
    workflow.subprocess_specs = new_subprocess_specs
