"""What every template can use besides Flask-Babel's `_()`: the current actor and language, time filters."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from flask import g, url_for
from flask_babel import gettext as _

from engine.accounts.users import person_label, user_names
from engine.definitions.compiled import current_rules
from engine.scheduling.outbox import unread_count
from web.auth import READER_ROLES, STAFF_ROLES
from web.forms import LOCAL_TZ
from web.i18n import case_status, current_language, event_label, pick, task_status
from web.intake import startable, triage_of
from web.runtime import now, reading


def localtime(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Show an aware time in Asia/Shanghai, where the service centres are."""
    return moment.astimezone(LOCAL_TZ).strftime(fmt) if moment else ""


def waited(since: datetime | None) -> str:
    """How long ago, as 5 分钟 / 2 小时 5 分钟 / 3 天 2 小时."""
    return "" if since is None else _span(int((now() - since).total_seconds() // 60))


def remaining(until: datetime | None) -> str:
    """How long until then, in whole minutes rounded up (30 seconds left is 1 分钟)."""
    return "" if until is None else _span(math.ceil((until - now()) / timedelta(minutes=1)))


def _span(minutes: int) -> str:
    days, rest = divmod(max(0, minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        parts = [(days, _("天")), (hours, _("小时"))]
    elif hours:
        parts = [(hours, _("小时")), (mins, _("分钟"))]
    else:
        parts = [(mins, _("分钟"))]
    return " ".join(f"{n} {unit}" for n, unit in parts)


def is_overdue(due: datetime | None) -> bool:
    return due is not None and due < now()


def seconds_left(due: datetime | None) -> int | None:
    """Whole seconds until `due` (rounded down; negative once it has passed), for integrations."""
    return None if due is None else math.floor((due - now()).total_seconds())


def unread_notifications() -> int:
    """The number on the bell: this person's unread notifications."""
    actor = g.get("actor")
    if actor is None:
        return 0
    with reading() as session:
        return unread_count(session, actor)


def site_name(site: str | None) -> str:
    """A site's name in the current language, from the deployed rules; its id if unknown."""
    if not site:
        return ""
    if "site_names" not in g:
        with reading() as session:
            rules = current_rules(session)
        g.site_names = rules.sites if rules else {}
    names = g.site_names.get(site) or {}
    return pick(names.get("zh"), names.get("en")) or site


def person(username: str | None) -> str:
    """`王敏 (reception1)` for a staff account, 系统 for the engine, other actors as they are."""
    if not username:
        return ""
    if username == "system":
        return _("系统")
    if "user_names" not in g:
        with reading() as session:
            g.user_names = user_names(session)
    return person_label(username, g.user_names.get(username))


def start_menu() -> list[tuple[str, str]]:
    """The header's 新建 menu: (link, name) of each procedure the signed-in person may start,
    the request for help (the triage) first as 新建求助."""
    actor = g.get("actor")
    if actor is None or not actor.roles & set(STAFF_ROLES):
        return []
    if "start_menu" not in g:
        with reading() as session:
            procedures, triage = startable(session, actor), triage_of(session)
        g.start_menu = [(url_for("cases.new_case"), _("新建求助")) if p.process_id == triage else
                        (url_for("cases.start_procedure", process_id=p.process_id), pick(p.name, p.name_en))
                        for p in procedures]
    return g.start_menu


def has_role(*roles) -> bool:
    actor = g.get("actor")
    return actor is not None and bool(actor.roles & set(roles))


def register(app) -> None:
    app.jinja_env.globals.update(pick=pick, event_label=event_label, has_role=has_role, start_menu=start_menu,
                                 staff_roles=STAFF_ROLES, reader_roles=READER_ROLES, case_status=case_status, task_status=task_status,
                                 site_name=site_name, person=person, unread_notifications=unread_notifications)
    app.jinja_env.filters.update(localtime=localtime, waited=waited, remaining=remaining, event_label=event_label)
    app.jinja_env.tests["overdue"] = is_overdue

    @app.context_processor
    def inject():
        return {"actor": g.get("actor"), "lang": current_language()}
