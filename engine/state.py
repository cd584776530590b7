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


_config = dict(SPIFF_CONFIG)
_config.pop(BpmnWorkflow)
_registry = BpmnWorkflowSerializer.configure(_config)
_workflow_converter = _SpecFreeWorkflowConverter(BpmnWorkflow, _registry)
#: the serializer's converters, which SpiffWorkflow's spec diff uses to compare task specs
SPEC_REGISTRY = _registry
_encoder = create_encoder(_registry, None)


def dump_state(workflow: BpmnWorkflow) -> str:
    """Serialize a workflow's runtime state (tasks, data, events), not its spec."""
    _registry._encoder_mode = True
    try:
        dct = _registry.convert(workflow)
        dct[VERSION_KEY] = VERSION
        return json.dumps(dct, cls=_encoder, ensure_ascii=False, separators=(",", ":"))
    finally:
        _registry._encoder_mode = False


def load_state(state_json: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    """Rebuild a workflow from `dump_state` output around already-parsed specs."""
    dct = json.loads(state_json)
    version = dct.pop(VERSION_KEY, VERSION)
    if version in MIGRATIONS:
        MIGRATIONS[version](dct)
    workflow = _workflow_converter.restore(dct, spec, subprocess_specs, script_engine)
    return workflow


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
