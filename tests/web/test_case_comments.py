"""Comments on a case (备注): written from the case page, kept in its record and audit chain."""

from __future__ import annotations

from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.runtime.comments import MAX_LENGTH


def test_a_comment_appears_in_the_timeline_with_its_author(web, cases):
    case = cases.start()
    web.login("guard1")
    response = web.post(f"/cases/{case.reference}/comments", {"text": "  住户家门口有积水，已提醒物业保洁  "})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/cases/{case.reference}#comments")
    page = web.get_text(f"/cases/{case.reference}")
    assert "已添加备注" in page
    assert "<dt>备注内容</dt><dd>住户家门口有积水，已提醒物业保洁</dd>" in page  # blanks trimmed
    [event] = cases.events(case.id, EventType.COMMENT_ADDED)
    assert event.actor == "guard1" and event.data == {"text": "住户家门口有积水，已提醒物业保洁"}


def test_a_comment_leaves_open_forms_valid(web, cases):
    """A comment is not a step: the case's version stays, so a form open elsewhere still submits."""
    case = cases.start()
    before = cases.lock_version(case.id)
    web.login("supervisor1")
    web.post(f"/cases/{case.reference}/comments", {"text": "已电话联系家属"})
    assert cases.lock_version(case.id) == before


def test_an_empty_comment_is_refused_inline(web, cases):
    case = cases.start()
    web.login("reception1")
    response = web.post(f"/cases/{case.reference}/comments", {"text": "   "})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "此项必填" in page and 'aria-invalid=true' in page
    assert cases.events(case.id, EventType.COMMENT_ADDED) == []


def test_a_too_long_comment_keeps_what_was_typed(web, cases):
    case = cases.start()
    web.login("reception1")
    text = "长" * (MAX_LENGTH + 1)
    response = web.post(f"/cases/{case.reference}/comments", {"text": text})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f">{text}</textarea>" in page
    assert f"最多 {MAX_LENGTH} 个字" in page
    assert cases.events(case.id, EventType.COMMENT_ADDED) == []


def test_a_closed_case_can_still_be_commented(web, cases, runtime):
    case = cases.start()
    runtime.cancel_instance(case.id, "住户撤回求助", "supervisor1")
    web.login("reception1")
    assert web.post(f"/cases/{case.reference}/comments", {"text": "住户来电致谢"}).status_code == 302
    assert len(cases.events(case.id, EventType.COMMENT_ADDED)) == 1


def test_an_auditor_sees_comments_but_no_comment_box(web, cases, runtime):
    case = cases.start()
    runtime.add_comment(case.id, {"text": "已通知工程部"}, "reception1")
    web.login("auditor1")
    page = web.get_text(f"/cases/{case.reference}")
    assert "已通知工程部" in page
    assert f"/cases/{case.reference}/comments" not in page


def test_comments_are_in_the_english_ui_too(web, cases, runtime):
    case = cases.start()
    runtime.add_comment(case.id, {"text": "checked"}, "reception1")
    web.login("reception1")
    web.client.get("/lang/en")
    page = web.get_text(f"/cases/{case.reference}")
    assert "<strong>Comment</strong>" in page and "Add a comment" in page


def test_comments_keep_the_audit_chain_intact(cases, runtime):
    case = cases.start()
    runtime.add_comment(case.id, {"text": "第一条"}, "reception1")
    runtime.add_comment(case.reference, {"text": "第二条"}, "guard1")
    with runtime.db.session() as session:
        assert audit.verify_chain(session).ok
    assert [e.data["text"] for e in cases.events(case.id, EventType.COMMENT_ADDED)] == ["第一条", "第二条"]
