"""The complaint's intake page: the time told to the complainant (003 5.2), bounded by the
site's limit, refused inline in Chinese and kept as typed."""

from __future__ import annotations

import re

INTAKE = dict(complainant="林先生", unit="3-12-1203", phone="13800000000", subject="水管漏水报修两次未修",
              description="卫生间水管漏水，两次报修无人上门", basis="ignored_after_two_reminders",
              department="environment", repeated_back=True, reported_to_head=True)


def test_a_promise_beyond_the_limit_is_refused_inline_and_a_good_one_goes_on(web, start_case):
    case = start_case("complaint", {"complainant": "林先生"})
    task = case.task("intake")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert "告之投诉人的解决时间" in page and 'name="promised_time"' in page
    # the fake clock reads Monday 17:00 in Shenzhen: three calendar days end Thursday 17:00
    response = web.post(f"/tasks/{task.id}", web.form({**INTAKE, "promised_time": "2026-11-27T10:00"}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'field-error[^>]*>[^<]*不能晚于本中心规定的时限（2026-11-26 17:00）', page)
    assert "limit" not in page  # the English words never reach a Chinese page
    assert 'value="2026-11-27T10:00"' in page  # what was typed is kept
    assert case.task("intake").status == "ready"

    response = web.post(f"/tasks/{task.id}", web.form({**INTAKE, "promised_time": "2026-11-25T10:00"}))
    assert response.status_code in (302, 303)
    [taken] = [e for e in case.events("task_completed") if e.element_id == "intake"]
    assert taken.data["submitted"]["promised_time"].startswith("2026-11-25T")
    assert case.task("handle_environment").role == "environment"


def test_the_desk_tracks_the_repair_order_by_the_repair_cases_reference(web, start_case):
    """001/第4篇 4.2 1) a–c: an engineering complaint opens its 维修单 as a repair case of its own;
    the desk's 跟踪维修单 page names that case, and the complaint's record says where it went."""
    case = start_case("complaint", {"complainant": "林先生"})
    case.complete("intake", "reception1", **{**INTAKE, "department": "engineering", "serious": False,
                                              "anonymous": False, "promised_time": "2026-11-25T10:00:00+08:00"})
    case.complete("quote_repair", "reception1", agreement="not_needed")
    [handed] = case.events("case_handed_over")
    repair_reference = handed.data["reference"]
    assert repair_reference.startswith("BX-")
    web.login("reception1")
    page = web.get_text(f"/tasks/{case.task('track_repair_order').id}")
    assert f"报修案件：{repair_reference}" in page
    assert "已收回客户签名的维修单" in page and "已与投诉人保持联系、及时反馈" in page
    assert "Signed order back" not in page  # the English words never reach a Chinese page
    record = web.get_text(f"/cases/{case.instance_id}")
    assert "转入案件" in record and repair_reference in record


def test_a_second_visit_by_phone_is_refused_on_the_page_in_chinese_and_kept_as_typed(web, start_case):
    """001/第2篇 1.9: the case counts its visits (x-from-case), so the page neither shows nor takes
    the count; the refusal is the form's own Chinese words."""
    from tests.scenario.test_complaint import CHECKED, HANDLED, PHONE_OK, RESULT, promise

    case = start_case("complaint", {"complainant": "林先生"})  # the month's first: the quota visits it
    case.complete("intake", "reception1", **{**INTAKE, "serious": False, "anonymous": False,
                                              "promised_time": "2026-11-25T10:00:00+08:00"})
    for _ in range(2):
        case.complete("handle_environment", "env1", **HANDLED)
        case.complete("record_result", "reception1", **RESULT)
        if _ == 0:
            case.complete("visit_ordinary", "reception1", **dict(PHONE_OK, visit_result="dissatisfied",
                                                                 new_promised_time=promise(case, days=1)))
            case.complete("check_visit", "supervisor1", **CHECKED)
    task = case.task("visit_ordinary")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert "第 2 次回访" in page and 'name="visit_count"' not in page and 'name="severity"' not in page
    response = web.post(f"/tasks/{task.id}", web.form({"visit_mode": "phone", "visit_result": "satisfied",
                                                       "visit_notes": "电话回访，住户满意", "visit_count": "5"}))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'field-error[^>]*>[^<]*第二次回访须上门回访', page) and "door visit" not in page
    assert "电话回访，住户满意" in page  # what was typed is kept
    assert case.task("visit_ordinary").status == "ready"
