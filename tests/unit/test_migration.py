"""Moving running cases to a newer version of their process, only when it is safe."""

import re
from pathlib import Path

import pytest

from engine.audit.events import EventType
from engine.definitions.diagram_import import import_diagram
from engine.errors import BadInput
from engine.runtime.queries import get_instance_row, list_events, list_tasks

ROOT = Path(__file__).resolve().parents[2]
T = "2026-11-23T09:05:00+00:00"
REPORT = dict(caller="林先生", unit="5栋3楼302", phone="13800000000", description="滴水", received_at=T)


@pytest.fixture
def rt(runtime):
    return runtime


def deploy_water_leak(rt, library, xml: str) -> int:
    with rt.transaction() as session:
        [result] = import_diagram(session, library, "water_leak.bpmn", xml.encode(), "designer1", "v2")
    assert result.runnable, result.findings
    return result.version


def open_task(rt, instance_id, element_id):
    with rt.db.session() as session:
        return next(t for t in list_tasks(session, instance_id=instance_id) if t.element_id == element_id)


def registered_case(rt):
    started = rt.start_instance("water_leak", {"caller": "林先生"}, "reception1")
    rt.complete_task(open_task(rt, started.instance.id, "register_leak").id, REPORT, "reception1")
    return started.instance.id


def test_a_case_moves_to_a_version_with_changed_steps_and_goes_on_there(rt, library):
    case = registered_case(rt)
    xml = (ROOT / "processes/water_leak.bpmn").read_text(encoding="utf-8")
    version = deploy_water_leak(rt, library, xml.replace('name="作好值班记录"', 'name="填写值班记录"'))
    result = rt.migrate_instance(case, version, "manager1")
    assert result.instance.version == version
    assert [t.element_id for t in result.open_tasks] == ["go_to_scene"]
    with rt.db.session() as session:
        [moved] = [e for e in list_events(session, case) if e.type == EventType.MIGRATED]
        assert (moved.actor, moved.data["from_version"], moved.data["to_version"]) == ("manager1", 1, version)
    rt.complete_task(open_task(rt, case, "go_to_scene").id, dict(arrived_at=T, switches_wet=False), "guard1")
    assert open_task(rt, case, "stop_water")


def without_registration(xml: str) -> str:
    """water_leak with its first step removed: the start event leads straight to the scene."""
    xml = re.sub(r'\s*<bpmn:userTask id="register_leak".*?</bpmn:userTask>', "", xml, flags=re.S)
    xml = re.sub(r'\s*<bpmn:sequenceFlow id="Flow_register_leak" [^>]*/>', "", xml)
    xml = re.sub(r'\s*<bpmndi:BPMN(Shape|Edge) id="(register_leak|Flow_register_leak)_di".*?</bpmndi:BPMN\1>', "",
                 xml, flags=re.S)
    xml = xml.replace("<bpmn:flowNodeRef>register_leak</bpmn:flowNodeRef>", "")
    xml = xml.replace('targetRef="register_leak"', 'targetRef="go_to_scene"')
    return xml.replace("<bpmn:incoming>Flow_register_leak</bpmn:incoming>", "<bpmn:incoming>Flow_start</bpmn:incoming>")


def test_a_case_that_passed_a_removed_step_stays_where_it_is(rt, library):
    case = registered_case(rt)
    xml = (ROOT / "processes/water_leak.bpmn").read_text(encoding="utf-8")
    version = deploy_water_leak(rt, library, without_registration(xml))
    with pytest.raises(BadInput, match="register_leak is not in the new version"):
        rt.migrate_instance(case, version, "manager1")
    with rt.db.session() as session:
        assert get_instance_row(session, case).version_id != version
        assert not [e for e in list_events(session, case) if e.type == EventType.MIGRATED]


def test_only_newer_versions_are_targets(rt):
    case = registered_case(rt)
    with pytest.raises(BadInput, match="only move to a newer version"):
        rt.migrate_instance(case, 1, "manager1")
