"""Every diagram of the library carries complete BPMN DI that people can read: each flow
node drawn inside its lane, lanes stacked without overlap, no two shapes on top of each
other (a boundary event sits on its task), and sequence flows drawn with straight
horizontal and vertical segments that start at their source, end at their target and
pass through no other shape."""

from itertools import pairwise
from pathlib import Path

import pytest
from lxml import etree

from engine.definitions.lint import FLOW_NODES, NS, local

ROOT = Path(__file__).resolve().parents[2]
DI_NS = {
    **NS,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
DIAGRAMS = sorted((ROOT / "processes").glob("*.bpmn"))
TOLERANCE = 3  # pixels an edge end may lie off its shape's border


class Diagram:
    def __init__(self, path: Path):
        root = etree.parse(str(path)).getroot()
        self.shapes = {
            s.get("bpmnElement"): tuple(
                float(s.find("dc:Bounds", DI_NS).get(k)) for k in ("x", "y", "width", "height")
            )
            for s in root.iterfind(".//bpmndi:BPMNShape", DI_NS)
        }
        self.edges = {
            e.get("bpmnElement"): [
                (float(w.get("x")), float(w.get("y"))) for w in e.iterfind("di:waypoint", DI_NS)
            ]
            for e in root.iterfind(".//bpmndi:BPMNEdge", DI_NS)
        }
        nodes = [el for el in root.iter(etree.Element) if local(el) in FLOW_NODES]
        self.nodes = {el.get("id") for el in nodes}
        self.host = {el.get("id"): el.get("attachedToRef") for el in nodes if local(el) == "boundaryEvent"}
        self.lanes = {
            lane.get("id"): [ref.text.strip() for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
            for lane in root.iterfind(".//bpmn:lane", NS)
        }
        self.flows = {
            f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
            for f in root.iterfind(".//bpmn:sequenceFlow", NS)
        }

    def apart(self, a: str, b: str) -> bool:
        return self.host.get(a) != b and self.host.get(b) != a


def overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def crosses(p, q, box, margin=2) -> bool:
    """Whether the horizontal or vertical segment p-q runs through the inside of `box`."""
    x0, y0, x1, y1 = box[0] + margin, box[1] + margin, box[0] + box[2] - margin, box[1] + box[3] - margin
    if p[0] == q[0]:
        return x0 < p[0] < x1 and max(min(p[1], q[1]), y0) < min(max(p[1], q[1]), y1)
    return y0 < p[1] < y1 and max(min(p[0], q[0]), x0) < min(max(p[0], q[0]), x1)


def inside(inner, outer) -> bool:
    return (
        outer[0] <= inner[0]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and outer[1] <= inner[1]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def touches(point, box) -> bool:
    x, y, w, h = box
    return x - TOLERANCE <= point[0] <= x + w + TOLERANCE and y - TOLERANCE <= point[1] <= y + h + TOLERANCE


@pytest.fixture(scope="module", params=DIAGRAMS, ids=lambda p: p.name)
def diagram(request) -> Diagram:
    return Diagram(request.param)


def test_every_node_lane_and_flow_is_drawn(diagram):
    assert diagram.nodes - set(diagram.shapes) == set()
    assert set(diagram.lanes) - set(diagram.shapes) == set()
    assert set(diagram.flows) - set(diagram.edges) == set()


def test_nodes_sit_inside_their_lanes_and_lanes_are_stacked(diagram):
    outside = [
        node
        for lane, nodes in diagram.lanes.items()
        for node in nodes
        if not inside(diagram.shapes[node], diagram.shapes[lane])
    ]
    assert outside == []
    lanes = sorted((diagram.shapes[lane] for lane in diagram.lanes), key=lambda box: box[1])
    assert all(upper[1] + upper[3] <= lower[1] for upper, lower in pairwise(lanes))


def test_no_two_shapes_overlap(diagram):
    nodes = sorted(diagram.nodes)
    assert [
        (a, b)
        for i, a in enumerate(nodes)
        for b in nodes[i + 1 :]
        if diagram.apart(a, b) and overlap(diagram.shapes[a], diagram.shapes[b])
    ] == []


def test_flows_run_from_source_to_target_around_other_shapes(diagram):
    problems = []
    for flow, (source, target) in diagram.flows.items():
        points = diagram.edges[flow]
        if not (touches(points[0], diagram.shapes[source]) and touches(points[-1], diagram.shapes[target])):
            problems.append(f"{flow} is not drawn from {source} to {target}")
        for p, q in pairwise(points):
            if p[0] != q[0] and p[1] != q[1]:
                problems.append(f"{flow} has a slanted segment {p} -> {q}")
                continue
            problems += [
                f"{flow} runs through {node}"
                for node in diagram.nodes
                if node not in (source, target, diagram.host.get(source))
                and crosses(p, q, diagram.shapes[node])
            ]
    assert problems == []
