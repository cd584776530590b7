"""A conflict keeps the work (issue #16): when another session got there first the page
answers 409 with the typed values, says what changed since the form was opened and who did
it, and offers the case; while the task is still mine the typed form may go again."""

from __future__ import annotations

import re

from tests.web.conftest import Web


def _opened_at(page: str) -> str:
    return re.search(r'name="__opened_at" value="([^"]+)"', page).group(1)


def test_a_task_completed_by_another_session_keeps_my_typed_text(web, cases, app, clock):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    form_page = web.get_text(f"/tasks/{task.id}")
    clock.advance(minutes=2)
    other = Web(app.test_client())
    other.login("reception1")
    other.post(f"/tasks/{task.id}", other.form({**cases.data("choose_help", condition="另一边填的"),
                                               "lock_version": case.lock_version}))
    assert cases.events(case.id, "task_completed")
    response = web.post(f"/tasks/{task.id}", web.form({**cases.data("choose_help"), "condition": "我填的病情很长",
                                                       "lock_version": case.lock_version,
                                                       "__opened_at": _opened_at(form_page)}))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert re.search(r'<textarea name="condition"[^>]*readonly>我填的病情很长</textarea>', page)  # kept, copyable
    assert "此任务已由 王敏 (reception1) 完成" in page
    assert "你打开表单后的变化" in page and "<dd>另一边填的</dd>" in page  # what changed, labelled
    assert f'href="/cases/{case.reference}"' in page and "查看案件" in page
    assert "is completed" not in page and "再次提交" not in page


def test_a_stale_form_still_mine_may_go_again_as_typed(web, cases, runtime, clock):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    form_page = web.get_text(f"/tasks/{task.id}")
    clock.advance(minutes=1)
    runtime.add_comment(case.id, {"text": "住户又来电"}, "supervisor1")
    runtime.claim_task(task.id, "reception1")  # the case moved on meanwhile
    typed = web.form({**cases.data("choose_help"), "condition": "我填的病情", "received_at": "2026-11-23T17:05"})
    response = web.post(f"/tasks/{task.id}", {**typed, "lock_version": case.lock_version,
                                              "__opened_at": _opened_at(form_page)})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert ">我填的病情</textarea>" in page and "再次提交" in page
    assert "<dd>住户又来电</dd>" in page  # the comment written meanwhile
    version = re.search(r'name="lock_version" value="(\d+)"', page).group(1)
    assert int(version) == cases.lock_version(case.id)
    again = web.post(f"/tasks/{task.id}", {**typed, "lock_version": version})
    assert again.status_code == 302
    [done] = cases.events(case.id, "task_completed")
    assert done.data["submitted"]["condition"] == "我填的病情"
