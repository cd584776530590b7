"""Chinese by default, English on request: Flask-Babel's locale and the language switch.

Templates and Python write each visible string in Chinese inside `_()`/`gettext`; that text is the
msgid, and web/translations/en/LC_MESSAGES/messages.po holds its English (docs/translations.md).
Without a translation the Chinese shows, so a missing catalogue never leaves a page blank.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, has_request_context, redirect, request, session
from flask_babel import Babel, get_locale, lazy_pgettext

from engine.clock import LOCAL_TZ

# The codes the header's switch uses (and the session keeps), and the Babel locale of each.
LOCALES = {"zh": "zh_CN", "en": "en"}
DEFAULT_LANGUAGE = "zh"

# Status and event words for the codes the engine stores (engine.store.models, audit event types).
# A context keeps each group apart from the UI word with the same Chinese (出错: Failed / Error).
EVENT_TYPES = {
    "instance_started": lazy_pgettext("event", "案件开始"),
    "task_ready": lazy_pgettext("event", "任务就绪"),
    "task_claimed": lazy_pgettext("event", "任务被认领"),
    "task_unclaimed": lazy_pgettext("event", "任务放弃认领"),
    "task_reassigned": lazy_pgettext("event", "任务转派"),
    "task_completed": lazy_pgettext("event", "任务完成"),
    "element_completed": lazy_pgettext("event", "环节完成"),
    "element_cancelled": lazy_pgettext("event", "环节取消"),
    "flow_taken": lazy_pgettext("event", "经过连线"),
    "message_received": lazy_pgettext("event", "收到消息"),
    "signal_received": lazy_pgettext("event", "收到信号"),
    "timer_fired": lazy_pgettext("event", "计时到期"),
    "error": lazy_pgettext("event", "出错"),
    "retried": lazy_pgettext("event", "重试"),
    "cancelled": lazy_pgettext("event", "案件取消"),
    "instance_finished": lazy_pgettext("event", "案件结束"),
    "sla_paused": lazy_pgettext("event", "时限计时暂停"),
    "sla_resumed": lazy_pgettext("event", "时限计时恢复"),
    "sla_breached": lazy_pgettext("event", "超过时限"),
    "sla_escalated": lazy_pgettext("event", "时限升级"),
    "migrated": lazy_pgettext("event", "迁移到新版本"),
    "comment_added": lazy_pgettext("event", "备注"),
    "staff_added": lazy_pgettext("event", "人员加入"),
    "staff_changed": lazy_pgettext("event", "人员信息变更"),
    "staff_deactivated": lazy_pgettext("event", "人员停用"),
    "password_set": lazy_pgettext("event", "设置密码"),
    "notification_sent": lazy_pgettext("event", "通知已送达"),
    "notification_failed": lazy_pgettext("event", "通知发送失败"),
    "notification_dead": lazy_pgettext("event", "通知未能送达"),
    "notification_unconfirmed": lazy_pgettext("event", "通知未确认送达"),
    "deployed": lazy_pgettext("event", "发布流程"),
    "token_created": lazy_pgettext("event", "创建接口令牌"),
    "token_revoked": lazy_pgettext("event", "吊销接口令牌"),
    "password_changed": lazy_pgettext("event", "修改密码"),
    "followup_decided": lazy_pgettext("event", "回访抽样"),
    "case_handed_over": lazy_pgettext("event", "转入其他流程"),
    "roster_saved": lazy_pgettext("event", "保存值班表"),
    "roster_published": lazy_pgettext("event", "公布值班表"),
    "roster_overdue": lazy_pgettext("event", "值班表逾期未公布"),
    "duty_requested": lazy_pgettext("event", "申请请假或调班"),
    "duty_request_decided": lazy_pgettext("event", "审批请假或调班"),
    "shift_reassigned": lazy_pgettext("event", "值班换人"),
    "duty_log_entry": lazy_pgettext("event", "值班记录"),
    "call_answered": lazy_pgettext("event", "接听来电"),
    "shift_closed": lazy_pgettext("event", "值班结束"),
}
CASE_STATUSES = {
    "running": lazy_pgettext("case status", "办理中"),
    "completed": lazy_pgettext("case status", "已办结"),
    "cancelled": lazy_pgettext("case status", "已取消"),
    "error": lazy_pgettext("case status", "出错待处理"),
}
TASK_STATUSES = {
    "ready": lazy_pgettext("task status", "待处理"),
    "claimed": lazy_pgettext("task status", "已认领"),
    "completed": lazy_pgettext("task status", "已完成"),
    "cancelled": lazy_pgettext("task status", "已取消"),
}

bp = Blueprint("i18n", __name__)
babel = Babel()


def init_app(app) -> None:
    """Install Flask-Babel (and its `_`, `ngettext`, `pgettext` in Jinja) with Chinese as the default."""
    babel.init_app(app, default_locale=LOCALES[DEFAULT_LANGUAGE], default_timezone=LOCAL_TZ.key,
                   locale_selector=select_locale)
    compiled = Path(app.root_path, "translations", "en", "LC_MESSAGES", "messages.mo")
    if not compiled.exists():
        app.logger.warning("%s is missing, so English pages show Chinese: run `make install` "
                           "(pybabel compile -d web/translations)", compiled)


def select_locale() -> str:
    """The locale of this request: the one chosen with /lang/<code>, else Chinese."""
    code = session.get("lang") if has_request_context() else None
    return LOCALES.get(code, LOCALES[DEFAULT_LANGUAGE])


def current_language() -> str:
    """`zh` or `en`, as the switch names them."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else DEFAULT_LANGUAGE


def pick(zh: str | None, en: str | None) -> str | None:
    """Choose between the Chinese and English texts a bundle carries; fall back to the Chinese one."""
    return (en or zh) if current_language() == "en" else (zh or en)


def event_label(event_type: str) -> str:
    return _label(EVENT_TYPES, event_type)


def case_status(status: str) -> str:
    return _label(CASE_STATUSES, status)


def task_status(status: str) -> str:
    return _label(TASK_STATUSES, status)


def _label(words: dict, code: str) -> str:
    """The word for an engine code in the current language; the code itself if unknown."""
    return str(words.get(code, code))


@bp.route("/lang/<code>")
def switch_language(code: str):
    """Remember the chosen language in the session and go back where the user was."""
    if code in LOCALES:
        session["lang"] = code
    return redirect(safe_next(request.referrer, "/"))


def safe_next(target: str | None, default: str) -> str:
    """Keep redirects on this site: only a local path is followed."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.host:
        return default
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return default
    return path + (f"?{parts.query}" if parts.query else "")
