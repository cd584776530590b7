"""The resident signs the repair order in front of the technician (001/第8篇 4.1 6)): on the
technician's own task, at a desk and on a phone, by drawing on the pad; no resident login."""

from __future__ import annotations

import base64

import pytest

from engine.audit.events import EventType
from engine.runtime.queries import get_instance_row, list_events, list_tasks

pytestmark = pytest.mark.browser
ON = [pytest.param(False, id="desk"), pytest.param(True, id="phone")]


def _repair_waiting_for_the_signature(runtime) -> str:
    from tests.scenario.test_repair import CHECK, DISPATCH, NOTIFY, ORDER

    reference = runtime.start_instance("repair", {}, "reception1").instance.reference
    steps = [("write_order", "reception1", ORDER), ("notify_engineering", "reception1", NOTIFY),
             ("assign_technician", "engsup1", DISPATCH),
             ("arrive_now", "tech1", {"arrived_at": "2026-11-23T09:05:00+00:00"}), ("check_order", "tech1", CHECK),
             ("do_repair", "tech1", {"quantity": 1, "repair_notes": "更换水龙头"})]
    for element_id, who, data in steps:
        with runtime.db.session() as session:
            row = get_instance_row(session, reference)
            task = next(t for t in list_tasks(session, instance_id=row.id) if t.element_id == element_id)
        runtime.complete_task(task.id, data, who)
    return reference


@pytest.mark.parametrize("phone", ON)
def test_the_resident_draws_their_signature_on_the_technicians_screen(open_desk, live_app, phone):
    reference = _repair_waiting_for_the_signature(live_app.runtime)
    desk = open_desk(phone=phone)
    page = desk.page
    desk.login("tech1")
    desk.open_task(reference, "住户试用并当面签字")  # in tech1's own inbox: the supervisor sent tech1
    desk.tick("已试用或检查合格")
    desk.tick("住户在场")
    desk.fill("签字住户姓名", "林先生")
    desk.tick("满意")
    desk.tick("第一联已交住户")
    pad = page.locator(".signature-pad canvas")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 9):  # a stroke across the pad
        page.mouse.move(box["x"] + 20 + step * box["width"] / 10, box["y"] + box["height"] * (0.3 + 0.05 * step))
    page.mouse.up()
    desk.shot("signed")
    desk.submit()
    assert page.locator(".flash").inner_text() == "已提交"

    with live_app.runtime.db.session() as session:
        events = list_events(session, get_instance_row(session, reference).id)
    [signed] = [e for e in events if e.type == EventType.TASK_COMPLETED and e.element_id == "resident_sign"]
    assert (signed.actor, signed.data["role"]) == ("tech1", "technician")
    drawn = signed.data["submitted"]["resident_signature"]
    assert drawn.startswith("data:image/png;base64,")
    assert base64.b64decode(drawn.removeprefix("data:image/png;base64,"))[:8] == b"\x89PNG\r\n\x1a\n"
    assert signed.data["submitted"]["resident_name"] == "林先生"
