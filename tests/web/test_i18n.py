"""Chinese by default, English on request; every UI string has its English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.store.models import InstanceStatus, TaskStatus
from web.i18n import CASE_STATUSES, EN, TASK_STATUSES

WEB = Path(__file__).resolve().parents[2] / "web"
UI_STRING = re.compile(r"""_\(\s*["']([^"']+)["']\s*\)""")


def test_pages_are_chinese_by_default(web, client):
    page = web.get_text("/login")
    assert '<html lang="zh-CN">' in page
    assert "登录" in page and "Log in" not in page


def test_lang_en_switches_the_ui_to_english_and_back(web, client):
    response = client.get("/lang/en", headers={"Referer": "http://localhost/login"})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = web.get_text("/login")
    assert '<html lang="en">' in page and "Log in" in page and "Username" in page
    client.get("/lang/zh")
    assert "用户名" in web.get_text("/login")


def test_unknown_language_is_ignored(web, client):
    client.get("/lang/fr")
    assert "登录" in web.get_text("/login")


def test_language_survives_login(web, client):
    client.get("/lang/en")
    web.login("reception1")
    assert "My tasks" in web.get_text("/")


def test_form_labels_follow_the_language(web, client, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    page = web.get_text(f"/tasks/{task.id}")
    assert "病人地址" in page and "叫120救护车" in page
    client.get("/lang/en")
    page = web.get_text(f"/tasks/{task.id}")
    assert 'for="f-unit">Patient&#39;s address' in page and "Call 120" in page and "Submit" in page
    assert "病人地址 " not in page and "叫120救护车" not in page  # task names stay as the diagram says


def test_case_timeline_event_types_are_translated(web, client, cases):
    case = cases.start()
    client.get("/lang/en")
    web.login("reception1")
    assert "Case started" in web.get_text(f"/cases/{case.reference}")


@pytest.mark.parametrize("path", sorted(WEB.rglob("*.html")) + sorted(WEB.glob("*.py")), ids=lambda p: p.name)
def test_every_ui_string_has_an_english_translation(path):
    missing = [s for s in UI_STRING.findall(path.read_text(encoding="utf-8")) if s not in EN]
    assert missing == []


def test_case_status_site_and_task_status_are_words_not_codes(web, client, cases):
    case = cases.start(site="nanshan")
    task = cases.task(case.id, "choose_help")
    web.login("reception1")
    page = web.get_text(f"/cases/{case.reference}")
    assert '<dd class="status-running">办理中</dd>' in page and "<dd>南山花园服务中心</dd>" in page
    assert "· 待处理" in page  # the open task's status
    assert "任务状态: 待处理" in web.get_text(f"/tasks/{task.id}")
    client.get("/lang/en")
    page = web.get_text(f"/cases/{case.reference}")
    assert '<dd class="status-running">In progress</dd>' in page and "<dd>Nanshan Garden service centre</dd>" in page
    assert "· Open" in page
    assert "Task status: Open" in web.get_text(f"/tasks/{task.id}")
    assert ">running<" not in page and ">nanshan<" not in page


def test_finished_case_and_claimed_task_read_as_words(web, client, cases, runtime):
    case = cases.start()
    web.login("reception1")
    web.post(f"/tasks/{cases.task(case.id, 'choose_help').id}/claim")
    assert "已认领 · 处理人: 王敏 (reception1)" in web.get_text(f"/cases/{case.reference}")
    runtime.cancel_instance(case.id, "误报", "supervisor1")
    assert '<dd class="status-cancelled">已取消</dd>' in web.get_text(f"/cases/{case.reference}")


def test_every_engine_status_has_words_in_both_languages():
    assert set(CASE_STATUSES) == {s.value for s in InstanceStatus}
    assert set(TASK_STATUSES) == {s.value for s in TaskStatus}
