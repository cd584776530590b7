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
