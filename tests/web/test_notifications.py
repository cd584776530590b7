"""Time limits in the UI: time left on tasks, the bell with its count, my notifications
and marking them read, in Chinese and English."""

from __future__ import annotations

import re
from dataclasses import replace

from engine.runtime.views import TaskView


def major_case(cases):
    """An emergency case marked major: the manager's task opens at once, to be taken up within 5 minutes
    (sla.yaml emergency.major_at_once: the manager is told at 0 %, the supervisors too at 100 %)."""
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="nursing", major=True)
    return case


def bell_count(page: str) -> int:
    match = re.search(r'class="bell[^"]*".*?<span class="count">(\d+)</span>', page, re.S)
    assert match, "no bell in the header"
    return int(match.group(1))


def test_inbox_and_case_show_the_time_left_then_how_late(web, cases, clock):
    case = major_case(cases)
    web.login("manager1")
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*立即接报重大急救事件.*?</tr>", web.get_text("/"), re.S).group(0)
    assert "剩余 5 分钟" in row and "17:05" in row  # due 17:05 China time
    clock.advance(minutes=3, seconds=30)
    assert "剩余 2 分钟" in web.get_text("/inbox/rows")  # rounded up: never shows less than is left
    clock.advance(minutes=4)
    page = web.get_text("/inbox/rows")
    assert '<tr class="overdue">' in page and "已超时 2 分钟" in page
    case_page = web.get_text(f"/cases/{case.reference}")
    assert 'class="due overdue"' in case_page and "已超时 2 分钟" in case_page


def test_a_paused_clock_says_so_instead_of_a_due_time(app):
    task = TaskView(id="t", instance_id=1, reference="QZ-20261123-0001", process_id="p", element_id="e",
                    name="处理求助", role="reception", status="ready", assignee=None, form_id=None,
                    created_at=None, due_at=None, lock_version=1, sla_key="help.reply")
    with app.test_request_context("/"):
        due = app.jinja_env.get_template("_due.html").module.due
        assert "计时暂停" in str(due(task))
        assert str(due(replace(task, sla_key=None))).strip() == ""  # no limit at all: nothing shown


def test_the_bell_counts_my_unread_notifications_and_the_page_lists_them(web, cases, runtime, clock):
    case = major_case(cases)
    web.login("manager1")
    assert bell_count(web.get_text("/")) == 0
    clock.advance(seconds=1)
    runtime.fire_due_timers()  # the worker's next pass: the manager is told at once (sla.yaml: at_once, 0 %)
    assert bell_count(web.get_text("/")) == 1
    page = web.get_text("/notifications")
    assert case.reference in page and "「立即接报重大急救事件」请立即处理" in page
    assert f'href="/cases/{case.reference}"' in page
    note_id = re.search(r'name="id" value="(\d+)"', page).group(1)

    response = web.post("/notifications/read", {"id": note_id})
    assert response.status_code == 302 and response.headers["Location"] == "/notifications"
    page = web.get_text("/notifications")
    assert bell_count(page) == 0 and "已读" in page and 'name="id"' not in page


def test_role_messages_stay_with_the_role(web, cases, runtime, clock):
    major_case(cases)
    clock.advance(minutes=11)
    runtime.fire_due_timers()
    web.login("reception1")
    assert bell_count(web.get_text("/")) == 0
    assert "没有通知" in web.get_text("/notifications")


def test_mark_all_read_and_english(web, client, cases, runtime, clock):
    major_case(cases)
    major_case(cases)
    clock.advance(minutes=11)
    runtime.fire_due_timers()
    client.get("/lang/en")
    web.login("manager1")
    page = web.get_text("/notifications")
    assert bell_count(page) == 4 and "My notifications" in page and "past its time limit (100%)" in page
    assert "needs you now" in page  # each case's at-once message
    assert "Mark all read" in page
    web.post("/notifications/read")
    assert bell_count(web.get_text("/")) == 0


def test_mark_read_needs_this_sessions_csrf_token_and_a_login(web, client):
    refused = client.post("/notifications/read")  # a form posted from elsewhere carries no token
    assert refused.status_code == 400 and "防伪令牌" in refused.get_data(as_text=True)
    logged_out = web.post("/notifications/read")  # the session's own token, but nobody logged in
    assert logged_out.status_code == 302
    assert logged_out.headers["Location"] == "/login?next=/notifications/read"


def test_mark_read_refuses_a_bad_id_and_marks_nothing_read(web, cases, runtime, clock):
    major_case(cases)
    clock.advance(minutes=10, seconds=1)
    runtime.fire_due_timers()
    web.login("manager1")
    response = web.post("/notifications/read", {"id": "x"})
    assert response.status_code == 400
    assert "id must be a notification number" in response.get_data(as_text=True)
    assert bell_count(web.get_text("/notifications")) == 2  # at once, and past the limit


def test_the_case_timeline_tells_of_the_breach_and_the_escalation(web, cases, runtime, clock):
    case = major_case(cases)
    clock.advance(minutes=11)
    runtime.fire_due_timers()
    web.login("manager1")
    page = web.get_text(f"/cases/{case.reference}")
    assert "超过时限" in page and "时限升级" in page
    assert "<dt>已通知</dt><dd>管理处经理</dd>" in page and "<dt>级别</dt><dd>100%</dd>" in page
