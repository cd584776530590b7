"""Error pages speak the reader's language (issue #16): a Chinese reader never sees the
engine's English message on a 403, 404, 409 or HTTP error page; an English reader does."""

from __future__ import annotations

import re

import pytest

ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}")


def _main(page: str) -> str:
    return page[page.index("<main"):page.index("</main>")]


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/cases/JJ-20991231-9999", 404, "找不到要找的案件"),
    ("/tasks/not-a-task", 404, "找不到要找的案件"),
    ("/no/such/page", 404, "找不到这个页面"),
    ("/cases/new/no_such_procedure", 404, "找不到要找的案件"),
])
def test_not_found_pages_in_chinese(web, path, status, words):
    web.login("reception1")
    main = _main(web.get_text(path, status))
    assert words in main and not ENGLISH_SENTENCE.search(main), main


def test_permission_denied_in_chinese_and_in_english(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    web.login("guard1")
    main = _main(web.get_text(f"/tasks/{task.id}", 403))
    assert "你的角色不能做这件事" in main and "does not hold role" not in main
    web.client.get("/lang/en")
    assert "does not hold role" in web.get_text(f"/tasks/{task.id}", 403)


def test_a_message_not_awaited_says_so_in_chinese(web, cases):
    case = cases.start()
    web.login("supervisor1")
    response = web.post(f"/cases/{case.reference}/messages/ambulance_arrived", follow_redirects=True)
    assert "该案件当前不在等待此消息" in response.get_data(as_text=True)
