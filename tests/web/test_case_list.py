"""The case list (issue #16): a clerk finds an open case again by unit, phone, caller or reference,
sees who holds it and how long is left, and sends the message it waits for from the list."""

from __future__ import annotations

from engine.runtime.case_list import PAGE_SIZE
from tests.web.test_case_view import ambulance_case


def test_clerk_finds_her_case_by_unit_as_the_resident_says_it(web, cases):
    case = cases.start(description="老人晕倒", unit="3-2-1201")
    other = cases.start(unit="5-1-0302", caller="王女士", phone="13900000000")
    web.login("reception1")
    page = web.get_text("/cases?q=3栋2单元1201")
    assert case.reference in page and other.reference not in page
    assert cases.task(case.id, "choose_help").name in page and "急救病人" in page  # its step and procedure
    assert other.reference in web.get_text("/cases?q=13900000000")
    assert other.reference in web.get_text("/cases?q=王女士")
    assert case.reference in web.get_text(f"/cases?q={case.reference.lower()}")


def test_list_shows_step_holder_and_time_left(web, start_case, runtime, clock):
    case = start_case("repair")  # 填写维修单 within 2 minutes
    task = case.task("write_order")
    runtime.claim_task(task.id, "reception1")
    web.login("reception1")
    row = _row(web.get_text("/cases"), case.reference)
    assert task.name in row and "王敏 (reception1)" in row
    assert '<span class="due">2 分钟</span>' in row
    clock.advance(minutes=5)
    assert "已超时 3 分钟" in _row(web.get_text("/cases"), case.reference)


def _row(page: str, reference: str) -> str:
    start = page.index(f'href="/cases/{reference}"')
    return page[start:page.index("</tr>", start)]


def test_message_button_in_the_list_and_back_to_the_list(web, cases):
    case = ambulance_case(cases)
    web.login("guard2")
    page = web.get_text("/cases?q=3-2-1201")
    assert f"/cases/{case.reference}/messages/ambulance_arrived" in page and "救护车已到达" in page
    response = web.post(f"/cases/{case.reference}/messages/ambulance_arrived", {"next": "/cases?q=3-2-1201"})
    assert response.headers["Location"].endswith("/cases?q=3-2-1201")
    assert any(e.data.get("message") == "ambulance_arrived" or "ambulance" in str(e.data)
               for e in cases.events(case.id, "message_received"))
    assert "/messages/ambulance_arrived" not in web.get_text("/cases?q=3-2-1201")


def test_list_keeps_to_my_site(web, cases):
    mine = cases.start()
    theirs = cases.start(as_user="reception2", site="binhai", unit="9-9-999")
    web.login("reception2")
    page = web.get_text("/cases")
    assert theirs.reference in page and mine.reference not in page
    assert f'href="/cases/{mine.reference}"' not in web.get_text(f"/cases?q={mine.reference}")


def test_closed_cases_only_when_asked_and_mine_scope(web, cases, runtime):
    done = cases.start(unit="1-1-101")
    runtime.cancel_instance(done.id, "误报", "supervisor1")
    started_by_other = cases.start(as_user="supervisor1", unit="2-2-202")
    web.login("reception1")
    assert done.reference not in web.get_text("/cases")
    assert done.reference in web.get_text("/cases?status=cancelled")
    assert done.reference in web.get_text("/cases?status=all")
    mine = web.get_text("/cases?scope=mine")
    assert "我的案件" in mine and started_by_other.reference not in mine


def test_bad_filters_are_said_in_chinese(web):
    web.login("reception1")
    page = web.get_text("/cases?from=yesterday&status=open")
    assert "日期格式应为 2026-12-07" in page and "不是有效的状态" in page
    assert "must be" not in page


def test_header_links_to_the_case_list(web):
    web.login("guard1")
    assert 'href="/cases"' in web.get_text("/")


def test_a_page_holds_a_bounded_number_of_cases(web, cases):
    started = [cases.start(unit="7-7-707") for _ in range(PAGE_SIZE + 1)]
    web.login("reception1")
    first = web.get_text("/cases?q=7-7-707")
    assert started[-1].reference in first and started[0].reference not in first
    assert "page=2" in first
    assert started[0].reference in web.get_text("/cases?q=7-7-707&page=2")


def test_api_lists_cases_matching_q_with_tasks_and_messages(api, cases):
    case = ambulance_case(cases)
    cases.start(unit="5-1-0302")
    answer = api.get("/cases?q=3栋2单元1201", "guard2")
    assert answer.status_code == 200
    body = answer.get_json()
    assert [c["reference"] for c in body["cases"]] == [case.reference]
    assert body["cases"][0]["waiting_messages"][0]["message"] == "ambulance_arrived"
    assert body["cases"][0]["open_tasks"] == [] and body["next_page"] is None  # only the ambulance is awaited


def test_api_refuses_bad_filters_by_field(api):
    answer = api.get("/cases?status=open&page=0", "reception1")
    assert answer.status_code == 422
    assert set(answer.get_json()["fields"]) == {"status", "page"}


def test_api_list_is_documented(api):
    spec = api.get("/openapi.json").get_json()
    names = {p["name"] for p in spec["paths"]["/api/v1/cases"]["get"]["parameters"]}
    assert {"q", "process", "status", "from", "to", "scope", "page"} <= names
