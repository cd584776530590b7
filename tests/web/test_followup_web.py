"""The community-event record (001/第2篇 1.5) and the monthly visit plan (1.2) from the web and
the API: the clerk (物业助理) enters the residents who took part as rows, each gets a drawn
visit case, and the monthly report's 《客户回访记录》 shows the community-event row; the CS
supervisor plans the month's visits the same way."""

from __future__ import annotations

from engine.audit.events import EventType
from engine.runtime.queries import get_instance_row, list_events

FORM = {"site": "nanshan", "event_title": "重阳登山", "event_kind": "sports", "held_at": "2026-11-22T12:00",
        "place": "梧桐山", "participants-0-resident": "林先生", "participants-0-unit": "5栋302",
        "participants-1-resident": "王女士", "participants-1-unit": "6栋101", "participants-1-phone": "13800000001"}


def test_the_clerk_records_an_event_with_its_residents_and_each_gets_a_drawn_visit(web, runtime, clock):
    web.login("guard1")
    assert web.client.get("/cases/new/community_event").status_code == 404  # not a guard's record
    web.logout()
    web.login("reception1")
    form = web.get_text("/cases/new/community_event")
    assert "社区文化活动" in form and "参加住户" in form and "活动结束时间" in form
    response = web.post("/cases/new/community_event", FORM)
    assert response.status_code == 302
    reference = response.headers["Location"].removeprefix("/cases/")
    assert reference.startswith("WH-")
    with runtime.db.read_session() as session:
        event = get_instance_row(session, reference)
        events = list_events(session, event.id)
        started = events[0].data["data"]
        visits = [get_instance_row(session, e.data["reference"]) for e in events
                  if e.type == EventType.CASE_HANDED_OVER]
        decided = [next(e for e in list_events(session, v.id) if e.type == EventType.FOLLOWUP_DECIDED).data
                   for v in visits]
    assert started["participants"] == [{"resident": "林先生", "unit": "5栋302"},
                                       {"resident": "王女士", "unit": "6栋101", "phone": "13800000001"}]
    assert [v.reference[:3] for v in visits] == ["HF-", "HF-"]
    assert [d["ordinal"] for d in decided] == [1, 2] and decided[0]["sampled"]  # the month's first is visited
    web.logout()
    web.login("manager1")
    report = web.get_text(f"/stats/report?month={clock.now():%Y-%m}&site=nanshan")
    assert "客户回访记录" in report and "社区文化活动回访" in report and "回访处理率" in report


def test_the_api_records_an_event_for_the_clerk_and_refuses_a_guard(api):
    data = {"site": "nanshan", "event_title": "中秋游园", "event_kind": "festival",
            "held_at": "2026-11-22T21:00:00+08:00", "place": "中心花园",
            "participants": [{"resident": "林先生", "unit": "5栋302"}]}
    started = api.post("/cases", "reception1", json={"process": "community_event", "data": data})
    assert started.status_code == 201, started.json
    assert started.json["case"]["reference"].startswith("WH-")
    assert api.post("/cases", "guard1", json={"process": "community_event", "data": data}).status_code == 403


def test_the_supervisor_plans_the_months_visits_from_the_web_a_clerk_may_not(web, runtime):
    web.login("reception1")
    assert web.client.get("/cases/new/visit_plan").status_code == 404
    web.logout()
    web.login("supervisor1")
    assert "回访安排" in web.get_text("/cases/new/visit_plan")
    response = web.post("/cases/new/visit_plan", {
        "site": "nanshan", "month": "2026-12", "visits-0-visit_kind": "holiday", "visits-0-resident": "林先生",
        "visits-0-unit": "5栋302", "visits-1-visit_kind": "move_in", "visits-1-resident": "王女士",
        "visits-1-unit": "6栋101"})
    assert response.status_code == 302
    reference = response.headers["Location"].removeprefix("/cases/")
    with runtime.db.read_session() as session:
        handed = [e.data["reference"] for e in list_events(session, get_instance_row(session, reference).id)
                  if e.type == EventType.CASE_HANDED_OVER]
    assert reference.startswith("HP-") and [r[:3] for r in handed] == ["HF-", "HF-"]
