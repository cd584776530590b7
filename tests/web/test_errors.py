"""Errors become plain pages with the right status; never a traceback."""

from __future__ import annotations

import inspect

import pytest

from engine import errors as engine_errors
from web.errors import status_for

# A well-formed task id that no case has; fixed, so the test ids are alike in every run.
NO_SUCH_TASK = "3f1c2a9e-6b7d-4e0f-8a51-9c2d7e4b6a10"

EXPECTED = {
    "NotFound": 404, "BadInput": 400, "FormInvalid": 400, "PermissionDenied": 403, "Refused": 403, "TaskNotReady": 409,
    "ConflictError": 409, "StepRaced": 409, "InstanceNotRunning": 409, "NothingWaiting": 409, "DefinitionError": 400,
    "ScriptError": 500, "EngineError": 400, "NotADiagram": 400, "DiagramTooLarge": 400, "SiteRefused": 403,
    "AuditKeyMissing": 500, "SecretKeyMissing": 500,
}


def test_every_engine_error_is_mapped_to_a_status():
    classes = {name for name, cls in inspect.getmembers(engine_errors, inspect.isclass)
               if issubclass(cls, engine_errors.EngineError)}
    assert classes == set(EXPECTED)
    for name, status in EXPECTED.items():
        cls = getattr(engine_errors, name)
        error = cls.__new__(cls)
        assert status_for(error) == status, name


@pytest.mark.parametrize("path", [f"/tasks/{NO_SUCH_TASK}", "/tasks/not-a-task", "/cases/JJ-20000101-0001",
                                  "/cases/999999", "/no/such/page"])
def test_unknown_things_get_the_custom_404_page(web, path):
    web.login("reception1")
    response = web.client.get(path)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "404 · 找不到" in page and "返回待办任务" in page


def test_completed_task_cannot_be_submitted_again(web, cases):
    case = cases.start()
    task = cases.task(case.id, "choose_help")
    cases.complete(case.id, "choose_help", "reception1")
    web.login("reception1")
    response = web.post(f"/tasks/{task.id}", web.form(cases.data("choose_help")))
    assert response.status_code == 409
    page = response.get_data(as_text=True)  # the task's page, with the typed values (issue #16)
    assert "案件已被他人更新" in page and "此任务已由 王敏 (reception1) 完成" in page
    assert "is completed" not in page


def test_wrong_method_gets_a_custom_page(web):
    web.login("reception1")
    response = web.client.get("/logout")
    assert response.status_code == 405
    assert "方法不允许" in response.get_data(as_text=True)


def test_unexpected_exception_shows_the_500_page_without_a_traceback(runtime):
    from web import create_app

    app = create_app({"RUNTIME": runtime, "TESTING": True, "SECRET_KEY": "t"})

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "系统出错" in page
    assert "Traceback" not in page and "secret internals" not in page and "RuntimeError" not in page
