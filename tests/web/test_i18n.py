"""Chinese by default, English on request; every UI string has its English in the catalogue."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from engine.store.models import InstanceStatus, TaskStatus
from web.i18n import CASE_STATUSES, TASK_STATUSES

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
ENGLISH = WEB / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# A literal inside a translation call, found without Babel: its extractor must find it too.
UI_STRING = re.compile(r"""\b(?:_|gettext|lazy_gettext)\(\s*["']([^"']+)["']\s*[,)]""")


@cache
def extracted() -> dict[tuple[str, str | None], str]:
    """Every (msgid, context) that `make translations` extracts with babel.cfg, and where it is."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {}
    for filename, lineno, msgid, _comments, context in extract_from_dir(WEB, method_map, options_map):
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        found.setdefault((key, context), f"{filename}:{lineno}")
    return found


@cache
def english():
    with ENGLISH.open("rb") as f:
        return read_po(f)


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


def test_every_ui_string_has_an_english_translation():
    catalogue = english()
    missing = []
    for (msgid, context), where in extracted().items():
        message = catalogue.get(msgid, context)
        forms = message.string if message and isinstance(message.string, (list, tuple)) else [
            message.string if message else ""]
        if message is None or message.fuzzy or not all(forms):
            missing.append(f"{where}: {msgid}")
    assert missing == [], "run `make translations` and write the English of these"


def test_the_catalogue_holds_no_string_the_ui_no_longer_uses():
    stale = [m.id for m in english() if m.id and ((m.id[0] if m.pluralizable else m.id), m.context) not in extracted()]
    assert stale == [], "run `make translations` to drop them"


def test_english_keeps_the_placeholders_and_plural_forms():
    problems = [(message.id, [str(e) for e in errors]) for message, errors in english().check()]
    assert problems == []
    assert english().num_plurals == 2


@pytest.mark.parametrize("path", sorted(WEB.rglob("*.html")) + sorted(WEB.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(WEB)))
def test_every_marked_string_is_extracted(path):
    """A call Babel cannot see (say, inside an f-string) would stay Chinese in English pages."""
    strings = {msgid for msgid, _context in extracted()}
    unseen = [s for s in UI_STRING.findall(path.read_text(encoding="utf-8")) if s not in strings]
    assert unseen == []


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


def test_every_engine_status_has_words():
    assert set(CASE_STATUSES) == {s.value for s in InstanceStatus}
    assert set(TASK_STATUSES) == {s.value for s in TaskStatus}


def test_counts_read_in_the_plural_forms_of_each_language(web, client, cases):
    cases.start()
    web.login("auditor1")
    assert "共 1 条" in web.get_text("/audit?type=instance_started")
    client.get("/lang/en")
    assert "1 event ·" in web.get_text("/audit?type=instance_started")
    page = web.get_text("/audit")
    total = int(re.search(r"(\d+) events ·", page).group(1))
    assert total > 1 and f"{total} events verified" in web.get_text("/audit/verify")
