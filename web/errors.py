"""One place that turns failures into pages (JSON under /api/v1): engine errors by class, HTTP errors by code."""

from __future__ import annotations

import re

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from engine.errors import (
    AuditKeyMissing,
    BadInput,
    ConflictError,
    DefinitionError,
    DiagramTooLarge,
    EngineError,
    FormInvalid,
    InstanceNotRunning,
    NotADiagram,
    NotFound,
    NothingWaiting,
    PermissionDenied,
    ScriptError,
    SecretKeyMissing,
    SiteRefused,
    TaskNotReady,
)
from web.api import errors as api_errors
from web.i18n import current_language, pick
from web.templating import site_name

# Most specific first: the first class an error is an instance of decides its status.
STATUS_OF = (
    (NotFound, 404),
    (FormInvalid, 400),
    (BadInput, 400),
    (PermissionDenied, 403),
    (TaskNotReady, 409),
    (ConflictError, 409),
    (InstanceNotRunning, 409),
    (NothingWaiting, 409),
    (DefinitionError, 400),
    (ScriptError, 500),
    (AuditKeyMissing, 500),
    (SecretKeyMissing, 500),  # the server's configuration: logged for its operators, not shown
    (EngineError, 400),
)

TITLES = {400: lazy_gettext("请求有误"), 401: lazy_gettext("请先登录"), 403: lazy_gettext("没有权限"),
          404: lazy_gettext("找不到"), 405: lazy_gettext("方法不允许"), 409: lazy_gettext("状态冲突"),
          413: lazy_gettext("内容过大"), 500: lazy_gettext("系统出错")}


def status_for(error: EngineError) -> int:
    return next(status for cls, status in STATUS_OF if isinstance(error, cls))


def _page(status: int, detail: str | None):
    title = TITLES.get(status, TITLES[400])
    if _wants_json():  # the modeler's fetch calls show `detail` beside the diagram
        return jsonify({"error": str(title), "detail": detail}), status
    return render_template("error.html", status=status, title=title, detail=detail), status


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


# What a page says of an engine error whose raiser gave no words for people: by its class,
# most specific first; the engine's English message is for programs and the log.
EXPLAINED = (
    (NotFound, lazy_gettext("找不到要找的案件、任务或页面：它可能不存在，或链接有误。")),
    (PermissionDenied, lazy_gettext("你的角色不能做这件事。需要时请联系主管。")),
    (TaskNotReady, lazy_gettext("这项任务现在不能这样办理：它可能已被他人认领或完成。请回到案件查看。")),
    (NothingWaiting, lazy_gettext("该案件当前不在等待此消息。")),
    (InstanceNotRunning, lazy_gettext("案件已结束或出错，不能再办理。")),
    (ConflictError, lazy_gettext("案件已被他人更新。请重新打开后再试。")),
)
_CJK = re.compile(r"[\u4e00-\u9fff]")
HTTP_EXPLAINED = {404: lazy_gettext("找不到这个页面。"), 405: lazy_gettext("此页面不能这样打开。"),
                  403: lazy_gettext("你的角色不能打开此页面。"), 400: lazy_gettext("请求有误，请返回后重试。")}


def _detail(error: EngineError) -> str:
    """What the page says about an engine error, in the UI's language: the raiser's own words,
    else its class's explanation; never the engine's English to a Chinese reader."""
    if getattr(error, "zh", None):
        return pick(error.zh, error.message)
    if isinstance(error, NotADiagram):
        return _("%(file)s 不是 %(kind)s 流程图（根元素是 <%(root)s>），未保存", file=error.filename,
                 kind=error.expected, root=error.root)
    if isinstance(error, SiteRefused):
        return _("%(user)s 不在%(site)s工作：不能为该服务中心开单、查看其统计与日志或办理其任务",
                 user=error.username, site=site_name(error.site))
    if isinstance(error, DiagramTooLarge):
        return _("%(file)s 有 %(size)s，超过流程图 %(limit)s 的上限，未保存", file=error.filename,
                 size=megabytes(error.size), limit=megabytes(error.limit))
    # Shown as is: in English; lint findings; and what the web layer raised already translated.
    if current_language() == "en" or isinstance(error, DefinitionError) or _CJK.search(str(error)):
        return str(error)
    return str(next((words for cls, words in EXPLAINED if isinstance(error, cls)), str(error)))


def megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def handle_engine_error(error: EngineError):
    status = status_for(error)
    if api_errors.is_api_request():
        return api_errors.engine_error(error, status)
    if status >= 500:
        current_app.logger.error("engine error: %s", error)
        return _page(status, None)
    return _page(status, _detail(error))


def handle_http_error(error: HTTPException):
    if api_errors.is_api_request():
        return api_errors.http_error(error)
    status = error.code or 500
    if status == 413:
        limit = megabytes(current_app.config["MAX_CONTENT_LENGTH"])
        return _page(status, _("提交的内容超过 %(limit)s 的上限，未保存", limit=limit))
    if status >= 500:
        return _page(status, None)
    if isinstance(error, CSRFError):  # a form left open past a logout, or posted from another site
        return _page(status, _("这张表单已失效（缺少或过期的防伪令牌）：请刷新页面后重新提交。"))
    return _page(status, error.description if current_language() == "en" else str(HTTP_EXPLAINED.get(status, "")))


def handle_unexpected(error: Exception):
    # Log the traceback for operators; the person at the desk sees a plain page.
    current_app.logger.exception("unhandled error: %s", error)
    if api_errors.is_api_request():
        return api_errors.unexpected_error()
    return _page(500, None)


def register(app) -> None:
    app.register_error_handler(EngineError, handle_engine_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
