"""The auditor reads a finished case on its diagram; the designer adds a task in the
browser modeler, deploys it, and a new case runs through the new task."""

from __future__ import annotations

import pytest

from engine.audit import chain as audit
from engine.runtime.queries import list_tasks

pytestmark = pytest.mark.browser

T = "2026-11-23T09:05:00+00:00"
LOG = dict(log_entry="5栋3楼302浸水，已处理完毕", closed_at=T, result_fed_back=True)


def finish_water_leak(runtime) -> tuple[int, str]:
    """A water leak at the unit's own pipes, worked through the runtime past the duty log."""
    started = runtime.start_instance("water_leak", {"caller": "林先生"}, "reception1")
    steps = [
        ("register_leak", "reception1", dict(caller="林先生", unit="5栋3楼302", phone="13800000000",
                                             description="天花板滴水", received_at=T)),
        ("go_to_scene", "guard1", dict(arrived_at=T, switches_wet=True, wet_switches="厨房插座")),
        ("cut_power", "guard1", dict(power_cut=True, power_cut_at=T, breaker="302户配电箱总闸")),
        ("stop_water", "guard1", dict(action_taken="close_valve", valve_location="厨房水表阀",
                                      source_type="own_facility", escalation="none")),
        ("repair_facility", "tech1", dict(facility="厨房给水管", repair_notes="更换接头", repaired_at=T)),
        ("record_duty_log", "reception1", LOG),
    ]
    for element_id, user, data in steps:
        complete(runtime, started.instance.id, element_id, user, data)
    return started.instance.id, started.instance.reference


def complete(runtime, instance_id: int, element_id: str, user: str, data: dict) -> None:
    with runtime.db.session() as session:
        [task] = [t for t in list_tasks(session, instance_id=instance_id) if t.element_id == element_id]
    runtime.complete_task(task.id, data, user)


def marked(page, marker: str) -> set[str]:
    return set(page.eval_on_selector_all(f".djs-element.{marker}", "els => els.map(e => e.dataset.elementId)"))


def test_the_highlighted_path_of_a_finished_case_is_its_audit_trail(desk, live_app):
    instance_id, reference = finish_water_leak(live_app.runtime)
    with live_app.runtime.db.session() as session:
        trail = audit.executed_path(session, instance_id, "water_leak")
    desk.login("auditor1")
    desk.page.goto(f"/cases/{reference}")
    desk.page.get_by_role("link", name="流程图").click()
    desk.page.wait_for_selector("#canvas[data-loaded=water_leak]")
    desk.loaded()
    assert marked(desk.page, "ed-completed") == set(trail.elements)
    assert marked(desk.page, "ed-flow") == set(trail.flows)
    assert marked(desk.page, "ed-current") == set()
    # It opens at a readable size from its start; the whole process is one tap away.
    desk.page.get_by_role("button", name="适合窗口").click()
    desk.page.locator('g.djs-element[data-element-id="stop_water"]').click()
    panel = desk.page.locator("#element-panel")
    assert "guard1" in panel.inner_text() and "厨房水表阀" in panel.inner_text()
    desk.shot("case-diagram")


ADD_REVIEW_TASK = """() => {
  const m = window.estatedeskModeler;
  const reg = m.get('elementRegistry'), modeling = m.get('modeling');
  const last = reg.get('record_duty_log'), next = reg.get('gw_resident_reported'), flow = reg.get('Flow_record_duty_log');
  // make room before the after-emergency visit's gateway: it, the visit and the end move right
  modeling.moveElements(['gw_resident_reported', 'arrange_after_visit', 'end'].map(id => reg.get(id)), {x: 250, y: 0});
  const task = modeling.createShape({type: 'bpmn:UserTask'}, {x: last.x + last.width + 110, y: last.y + last.height / 2},
                                    last.parent);
  modeling.reconnectEnd(flow, task, {x: task.x, y: task.y + task.height / 2});
  modeling.connect(task, next);
  m.get('selection').select(task);
  return task.id;
}"""


def test_a_designer_adds_a_task_deploys_it_and_a_new_case_runs_through_it(desk, live_app):
    desk.login("designer1")
    desk.page.goto("/processes/water_leak/edit")
    desk.page.wait_for_selector("#findings[data-checked]")
    assert desk.page.locator("#findings").inner_text() == "没有问题"
    task_id = desk.page.evaluate(ADD_REVIEW_TASK)
    form = desk.page.locator("#properties")
    form.locator("input[name=name]").fill("主管复核值班记录")
    form.locator("input[name=clause]").fill("004 4.3")
    form.locator("input[name=form]").fill("water_leak/record_duty_log")
    form.get_by_role("button", name="应用").click()
    desk.page.wait_for_function("() => document.querySelector('#findings').innerText.includes('没有问题')")
    desk.page.locator("#deploy-note").fill("值班记录增加主管复核")
    desk.page.get_by_role("button", name="部署为新版本").click()
    desk.page.wait_for_function("() => document.querySelector('#status').innerText.includes('water_leak v2')")
    assert desk.page.locator("#base-version").inner_text() == "基于 v2"  # the header names what is open now
    assert "主管复核值班记录" in (live_app.processes_dir / "water_leak.bpmn").read_text(encoding="utf-8")
    desk.shot("deployed")
    desk.loaded()

    runtime = live_app.runtime
    instance_id, _ = finish_water_leak(runtime)  # on the new version: the review task is still to do
    with runtime.db.session() as session:
        [task] = list_tasks(session, instance_id=instance_id)
    assert (task.element_id, task.name) == (task_id, "主管复核值班记录")
    runtime.complete_task(task.id, LOG, "reception1")
    with runtime.db.session() as session:
        assert audit.executed_path(session, instance_id).elements[-4:] == [
            task_id, "gw_resident_reported", "arrange_after_visit", "end"]
