"""Read what people need from a BPMN file: elements, lanes, our properties, flows.

SpiffWorkflow's specs keep lanes and extension properties but not sequence-flow ids,
so the outline is read from the XML once at deploy time and stored with the version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

# Flow nodes that carry a clause and can appear in a case's executed path.
FLOW_NODE_TAGS = {
    "task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway",
    "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
}
HUMAN_TASK_TAGS = {"userTask", "manualTask"}


@dataclass
class ProcessOutline:
    """One process of a BPMN file, as plain data that can be stored as JSON."""

    process_id: str
    file: str
    name: str | None
    executable: bool
    reference_prefix: str = "QZ"
    # The catalogue (docs/process-conventions.md "Adding a procedure"): who may start it, with
    # which start form, its department for the statistics and its English name.
    start_roles: list[str] = field(default_factory=list)
    start_form: str | None = None
    department: str | None = None
    name_en: str | None = None
    elements: dict[str, dict] = field(default_factory=dict)
    flows: dict[str, dict] = field(default_factory=dict)
    called_processes: list[str] = field(default_factory=list)
    messages: dict[str, str] = field(default_factory=dict)  # catch element id -> message name

    def to_dict(self) -> dict:
        return asdict(self)


def properties_of(node: etree._Element) -> dict[str, str]:
    """Return an element's own `spiffworkflow:property` name/value pairs."""
    props = node.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS)
    return {p.get("name"): p.get("value", "") for p in props if p.get("name")}


def local_name(node: etree._Element) -> str:
    return etree.QName(node).localname


def outline_processes(tree: etree._ElementTree, filename: str) -> dict[str, ProcessOutline]:
    """Outline every process in a parsed BPMN file, keyed by process id."""
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    message_names = {m.get("id"): m.get("name") or m.get("id") for m in root.xpath("//bpmn:message", namespaces=NS)}
    lanes = {}
    for ref in root.xpath("//bpmn:lane/bpmn:flowNodeRef", namespaces=NS):
        lanes[(ref.text or "").strip()] = ref.getparent().get("name")
    outlines = {}
    for process in root.xpath("//bpmn:process", namespaces=NS):
        pid = process.get("id")
        props = properties_of(process)
        outline = ProcessOutline(
            process_id=pid, file=filename, name=process.get("name"),
            executable=process.get("isExecutable") == "true",
            reference_prefix=props.get("reference_prefix", "QZ"),
            start_roles=[r.strip() for r in props.get("start_roles", "").split(",") if r.strip()],
            start_form=props.get("start_form") or None, department=props.get("department") or None,
            name_en=props.get("name_en") or None,
        )
        for node in process.iter(f"{{{BPMN_NS}}}*"):
            tag = local_name(node)
            if tag == "sequenceFlow":
                outline.flows[node.get("id")] = {
                    "source": node.get("sourceRef"), "target": node.get("targetRef"), "name": node.get("name")}
            elif tag in FLOW_NODE_TAGS and node.get("id"):
                outline.elements[node.get("id")] = _element(node, tag, lanes)
                if tag == "callActivity" and node.get("calledElement"):
                    outline.called_processes.append(node.get("calledElement"))
                for ref in node.xpath("./bpmn:messageEventDefinition/@messageRef", namespaces=NS):
                    outline.messages[node.get("id")] = message_names.get(ref, ref)
        outlines[pid] = outline
    return outlines


# What an element's `measure` property may say its completion means for the statistics
# (engine/stats/vocabulary.py reads it from the task_completed event): the catalogue's
# way of naming such steps, so a new procedure needs no Python to be measured.
MEASURES = {
    "arrival": "the staff reached the scene: the case's arrival time runs to this step's completion",
    "round": "a round of checkpoints ends: checkpoints_visited of the case's planned_checkpoints, on_schedule",
    "charge": "the script computes the case's `charge` (yuan): recorded with the step, counted as the paid charge",
    "fee_collected": "finance has the charge (collected or on the bill): the revenue counts it",
}


def _element(node: etree._Element, tag: str, lanes: dict) -> dict:
    props = properties_of(node)
    docs = node.xpath("./bpmn:documentation/text()", namespaces=NS)
    instructions = node.xpath(
        "./bpmn:extensionElements/spiffworkflow:instructionsForEndUser/text()", namespaces=NS)
    return {
        "type": tag,
        "name": node.get("name"),
        "lane": lanes.get(node.get("id")),
        "clause": props.get("clause"),
        "form": props.get("form"),
        "sla": props.get("sla"),
        "sla_from": props.get("sla_from"),
        "measure": props.get("measure"),
        "assignee": props.get("assignee"),  # the case field naming who holds the task when it opens
        "documentation": docs[0].strip() if docs else None,
        "instructions": instructions[0].strip() if instructions else None,
        "attached_to": node.get("attachedToRef"),
        "called": node.get("calledElement"),
        "timer": bool(node.xpath("./bpmn:timerEventDefinition", namespaces=NS)),
        "line": node.sourceline,
    }
