"""The library's diagrams open cleanly in bpmn-js / Camunda Modeler: every element is
drawn, lanes are stacked inside the pool, nodes sit in their lanes, no shapes overlap,
no sequence flow runs through a shape, and each process reads left to right."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from lxml import etree

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "di": "http://www.omg.org/spec/DD/20100524/DI"}
NOT_DRAWN_ALONE = {"laneSet", "lane", "flowNodeRef", "sequenceFlow", "documentation", "extensionElements",
                   "incoming", "outgoing", "conditionExpression", "timerEventDefinition", "timeDuration",
                   "timeDate", "timeCycle", "messageEventDefinition", "signalEventDefinition", "script"}
Box = tuple[float, float, float, float]


def _local(element) -> str:
    return etree.QName(element).localname


class Drawing:
    def __init__(self, path: Path):
        self.root = etree.parse(str(path)).getroot()
        self.shapes: dict[str, Box] = {}
        for shape in self.root.iterfind(".//bpmndi:BPMNShape", NS):
            b = shape.find("dc:Bounds", NS)
            self.shapes[shape.get("bpmnElement")] = tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))
        self.edges = {e.get("bpmnElement"): [(float(p.get("x")), float(p.get("y")))
                                             for p in e.iterfind("di:waypoint", NS)]
                      for e in self.root.iterfind(".//bpmndi:BPMNEdge", NS)}
        self.nodes = {n.get("id"): n for p in self.root.iterfind("bpmn:process", NS) for n in p
                      if isinstance(n.tag, str) and _local(n) not in NOT_DRAWN_ALONE and n.get("id")}
        self.flows = self.root.findall(".//bpmn:process/bpmn:sequenceFlow", NS)
        self.lanes = self.root.findall(".//bpmn:lane", NS)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _inside(inner: Box, outer: Box) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])


def _touches(point, box: Box, slack: float = 2) -> bool:
    x, y = point
    return box[0] - slack <= x <= box[0] + box[2] + slack and box[1] - slack <= y <= box[1] + box[3] + slack


def _crosses(p, q, box: Box, margin: float = 1) -> bool:
    """Whether segment p-q enters the box's interior (Liang-Barsky clipping)."""
    x0, y0, x1, y1 = box[0] + margin, box[1] + margin, box[0] + box[2] - margin, box[1] + box[3] - margin
    dx, dy = q[0] - p[0], q[1] - p[1]
    lo, hi = 0.0, 1.0
    for step, start in ((-dx, p[0] - x0), (dx, x1 - p[0]), (-dy, p[1] - y0), (dy, y1 - p[1])):
        if step == 0:
            if start < 0:
                return False
            continue
        t = start / step
        if step < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo >= hi:
            return False
    return True


DIAGRAMS = sorted(PROCESSES.glob("*.bpmn"))


@pytest.fixture(params=DIAGRAMS, ids=[p.stem for p in DIAGRAMS])
def drawing(request) -> Drawing:
    return Drawing(request.param)


def test_every_node_and_flow_is_drawn(drawing):
    assert [n for n in drawing.nodes if n not in drawing.shapes] == []
    assert [f.get("id") for f in drawing.flows if f.get("id") not in drawing.edges] == []


def test_lanes_are_stacked_inside_the_pool_and_hold_their_nodes(drawing):
    pools = [drawing.shapes[p.get("id")] for p in drawing.root.iterfind(".//bpmn:participant", NS)]
    lanes = {lane.get("id"): drawing.shapes[lane.get("id")] for lane in drawing.lanes}
    for lane_id, box in lanes.items():
        assert any(_inside(box, pool) for pool in pools), f"{lane_id} is outside the pool"
    ordered = sorted(lanes.values(), key=lambda b: b[1])
    for upper, lower in pairwise(ordered):
        assert upper[1] + upper[3] <= lower[1] and upper[0] == lower[0], "lanes are not stacked"
    for lane in drawing.lanes:
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert _inside(drawing.shapes[ref.text], lanes[lane.get("id")]), f"{ref.text} is outside its lane"


def test_no_shapes_overlap(drawing):
    ids = [n for n in drawing.nodes if n in drawing.shapes]
    hosts = {n: drawing.nodes[n].get("attachedToRef") for n in ids}
    clashes = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]
               if hosts[a] != b and hosts[b] != a and _overlap(drawing.shapes[a], drawing.shapes[b])]
    assert clashes == []


def test_flows_join_their_ends_and_pass_through_no_shape(drawing):
    problems = []
    for flow in drawing.flows:
        fid, source, target = flow.get("id"), flow.get("sourceRef"), flow.get("targetRef")
        points = drawing.edges[fid]
        if not _touches(points[0], drawing.shapes[source]) or not _touches(points[-1], drawing.shapes[target]):
            problems.append(f"{fid} does not join {source} to {target}")
        ends = {source, target, drawing.nodes[source].get("attachedToRef")}
        for other, box in drawing.shapes.items():
            if other in drawing.nodes and other not in ends and any(
                    _crosses(p, q, box) for p, q in pairwise(points)):
                problems.append(f"{fid} passes through {other}")
    assert problems == []


def test_each_process_reads_left_to_right(drawing):
    """Start events are drawn left of everything else in their process."""
    for process in drawing.root.iterfind("bpmn:process", NS):
        starts = [n.get("id") for n in process.iterfind("bpmn:startEvent", NS)]
        others = [n.get("id") for n in process if n.get("id") in drawing.nodes and n.get("id") not in starts]
        leftmost = min(drawing.shapes[n][0] for n in others)
        assert all(drawing.shapes[s][0] < leftmost for s in starts)
