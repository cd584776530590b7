"""Instance state as JSON without the spec, and the spec as JSON once per version.

SpiffWorkflow's serializer embeds the whole spec in every workflow it writes; here the
workflow converter skips it on the way out and takes the cached spec objects on the
way in, so a step neither writes nor parses the spec.
"""

from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.serializer.workflow import VERSION, BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

VERSION_KEY = "serializer_version"


class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):
    """The default top-level workflow converter, minus the spec."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore(self, dct, spec, subprocess_specs, script_engine):
        workflow = self.target_class(spec, subprocess_specs, script_engine=script_engine, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _EncoderRegistry(DefaultRegistry):
    """A registry that converts only the objects it knows and leaves the rest to the JSON encoder.

    SpiffWorkflow's serializer gets this by flipping a mode flag on a shared registry
    for the length of a dump, which other threads see: a spec converted meanwhile keeps
    objects inside its lists, and its JSON fails. Here the behaviour is this registry's
    own, so no call ever switches it.
    """

    def convert(self, obj):
        typename = self.typenames.get(obj.__class__)
        if typename in self.convert_to_dict:
            return self.convert_to_dict[typename](obj)
        return self.clean(obj) if isinstance(obj, dict) else obj


_config = dict(SPIFF_CONFIG)
_config.pop(BpmnWorkflow)
#: converts specs and task data fully; SpiffWorkflow's spec diff uses it to compare task specs
SPEC_REGISTRY = _registry = BpmnWorkflowSerializer.configure(_config)
_state_registry = BpmnWorkflowSerializer.configure(_config, _EncoderRegistry())
_workflow_converter = _SpecFreeWorkflowConverter(BpmnWorkflow, _state_registry)
_encoder = create_encoder(_state_registry, None)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize a workflow's runtime state (tasks, data, events), not its spec."""
    dct = _state_registry.convert(workflow)
    dct[VERSION_KEY] = VERSION
    return json.dumps(dct, cls=_encoder, ensure_ascii=False, separators=(",", ":"))


def load_state(state_json: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    """Rebuild a workflow from `dump_state` output around already-parsed specs."""
    workflow = _workflow_converter.restore(_state_dict(state_json), spec, subprocess_specs, script_engine)
    return workflow


def load_task_data(state_json: str, task_id: str) -> dict | None:
    """One task's data from `dump_state` output, without rebuilding the workflow; None if absent.

    Showing a task needs only its data, and restoring every task of the case costs
    several times more than reading this one's. SpiffWorkflow stores each task's data
    as a delta from its parent's, so the data is rebuilt down the task's ancestry, as
    its task converter does.
    """
    dct = _state_dict(state_json)
    for tasks in (dct["tasks"], *(sub["tasks"] for sub in dct["subprocesses"].values())):
        if task_id in tasks:
            return _data_down_to(tasks, task_id)
    return None


def _data_down_to(tasks: dict, task_id: str) -> dict:
    ancestry = []
    key = task_id
    while key in tasks:
        ancestry.append(tasks[key])
        key = tasks[key]["parent"]
    data = {}
    for index, task in enumerate(reversed(ancestry)):
        delta = task.get("delta")
        if delta and index > 0:  # the first has no parent in this workflow: its data is whole
            data = {**data, **_registry.restore(delta.get("updates", {}))}
            for deleted in delta.get("deletions", ()):
                data.pop(deleted, None)
        else:
            data = _registry.restore(task["data"])
    return data


def _state_dict(state_json: str) -> dict:
    """The stored state as the current serializer version writes it."""
    dct = json.loads(state_json)
    version = dct.pop(VERSION_KEY, VERSION)
    if version in MIGRATIONS:
        MIGRATIONS[version](dct)
    return dct


def dump_spec(spec, subprocess_specs: dict) -> str:
    """Serialize a process spec and its call-activity specs, once per deployed version."""
    body = {
        "spec": _registry.convert(spec),
        "subprocess_specs": {name: _registry.convert(sub) for name, sub in subprocess_specs.items()},
        VERSION_KEY: VERSION,
    }
    return json.dumps(body, ensure_ascii=False)


def load_spec(spec_json: str):
    """Return (spec, subprocess_specs) from `dump_spec` output."""
    body = json.loads(spec_json)
    spec = _registry.restore(body["spec"])
    subprocess_specs = {name: _registry.restore(sub) for name, sub in body["subprocess_specs"].items()}
    return spec, subprocess_specs
