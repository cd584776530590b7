"""Who may open and post what: every page needs a login, and roles decide the rest."""

from __future__ import annotations

import pytest

GET_PAGES = ["/", "/inbox/rows", "/cases/new", "/tasks/{task}", "/cases/{ref}", "/stats", "/stats/cases",
             "/stats/export.csv", "/stats/report"]
POSTS = ["/tasks/{task}", "/tasks/{task}/claim", "/tasks/{task}/unclaim", "/tasks/{task}/reassign",
         "/cases/new", "/cases/{ref}/messages/ambulance_arrived", "/cases/{ref}/comments"]

MATRIX = [
    # user, method, path, status
    ("reception1", "GET", "/cases/new", 200),
    ("supervisor1", "GET", "/cases/new", 200),
    ("manager1", "GET", "/cases/new", 200),
    ("guard1", "GET", "/cases/new", 200),  # the procedures a guard may start: 浸水, 漏气…
    ("auditor1", "GET", "/cases/new", 403),
    ("guard1", "POST", "/cases/new", 403),
    ("reception1", "GET", "/tasks/{task}", 200),
    ("supervisor1", "GET", "/tasks/{task}", 200),
    ("auditor1", "GET", "/tasks/{task}", 200),
    ("guard1", "GET", "/tasks/{task}", 403),
    ("designer1", "GET", "/tasks/{task}", 403),
    ("guard1", "POST", "/tasks/{task}", 403),
    ("guard1", "POST", "/tasks/{task}/claim", 403),
    ("reception1", "POST", "/tasks/{task}/reassign", 403),
    ("reception1", "GET", "/cases/{ref}", 200),
    ("guard1", "GET", "/cases/{ref}", 200),
    ("auditor1", "GET", "/cases/{ref}", 200),
    ("resident1", "GET", "/cases/{ref}", 403),
    ("auditor1", "GET", "/", 200),
    ("auditor1", "POST", "/tasks/{task}", 403),
    ("auditor1", "POST", "/tasks/{task}/claim", 403),
    ("auditor1", "POST", "/tasks/{task}/unclaim", 403),
    ("auditor1", "POST", "/tasks/{task}/reassign", 403),
    ("auditor1", "POST", "/cases/new", 403),
    ("auditor1", "POST", "/cases/{ref}/messages/ambulance_arrived", 403),
    ("auditor1", "POST", "/cases/{ref}/comments", 403),
    ("designer1", "POST", "/cases/{ref}/comments", 403),
    ("resident1", "POST", "/cases/{ref}/comments", 403),
    ("guard1", "POST", "/cases/{ref}/comments", 400),  # allowed; the comment is empty
    # monthly statistics: supervisors and managers, auditors read them too
    ("supervisor1", "GET", "/stats", 200),
    ("manager1", "GET", "/stats", 200),
    ("auditor1", "GET", "/stats", 200),
    ("guard1", "GET", "/stats", 403),
    ("reception1", "GET", "/stats", 403),
    ("resident1", "GET", "/stats", 403),
    ("guard1", "GET", "/stats/cases", 403),
    ("guard1", "GET", "/stats/export.csv", 403),
    ("guard1", "GET", "/stats/export.xlsx", 403),
    ("guard1", "GET", "/stats/report", 403),
    ("manager1", "GET", "/stats/export.xlsx", 200),
]


@pytest.fixture
def target(cases) -> dict:
    """A fresh case with reception's first task open."""
    case = cases.start()
    return {"ref": case.reference, "task": cases.task(case.id, "choose_help").id}


@pytest.mark.parametrize("path", GET_PAGES)
def test_logged_out_get_redirects_to_login(client, target, path):
    response = client.get(path.format(**target))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", POSTS)
def test_logged_out_post_redirects_to_login(web, target, path):
    response = web.post(path.format(**target))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("user", "method", "path", "status"), MATRIX,
                         ids=[f"{u}-{m}-{p}" for u, m, p, _ in MATRIX])
def test_role_matrix(web, target, user, method, path, status):
    web.login(user)
    url = path.format(**target)
    response = web.client.get(url) if method == "GET" else web.post(url)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status == 403:
        assert "没有权限" in response.get_data(as_text=True)


def test_auditor_reads_a_task_without_a_submit_button(web, target):
    web.login("auditor1")
    page = web.get_text(f"/tasks/{target['task']}")
    assert 'type="submit">提交<' not in page


def test_refused_post_changes_nothing(web, cases, target):
    web.login("guard1")
    web.post(f"/tasks/{target['task']}", {"unit": "1-1-1", "phone": "123", "condition": "x",
                                          "help_type": "hospital"})
    with cases.runtime.db.session() as session:
        from engine.runtime.queries import get_task

        assert get_task(session, target["task"]).status == "ready"
