"""The case list at /cases (我的案件 / 本中心案件) and the filters it shares with the API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from engine.accounts import sites
from engine.definitions.catalogue import procedures
from engine.definitions.compiled import VERSIONS, current_rules
from engine.errors import FieldError, FormInvalid
from engine.runtime.case_list import SCOPES, CaseFilter, CasePage, search_cases
from engine.runtime.queries import list_events
from engine.store.models import InstanceStatus
from web.auth import READER_ROLES, roles_required
from web.forms import LOCAL_TZ, errors_by_field
from web.intake import default_site
from web.runtime import reading
from web.timeline import waiting_messages

bp = Blueprint("case_list", __name__)

STATUSES = tuple(s.value for s in InstanceStatus)
ALL = "all"
MAX_PAGE = 10_000


def case_site(session, actor, asked: str | None = None) -> str | None:
    """The one site whose cases the list shows: the one asked for (`?site=`), if the person works
    there (engine/accounts/sites.py; another is refused), else their own, else the default site."""
    if asked:
        sites.check_site(actor, asked)
        return asked
    return default_site(current_rules(session), actor)


def case_filter(session, args, actor) -> CaseFilter:
    """The filter the query string asks for; `FormInvalid` names each value that cannot be one."""
    errors = []
    status = args.get("status") or InstanceStatus.RUNNING.value
    if status not in (*STATUSES, ALL):
        errors.append(FieldError("status", f"must be one of: {', '.join((*STATUSES, ALL))}", _("不是有效的状态")))
    scope = args.get("scope") or "site"
    if scope not in SCOPES:
        errors.append(FieldError("scope", f"must be one of: {', '.join(SCOPES)}", _("不是有效的范围")))
    since, before = _day(args, "from", errors), _day(args, "to", errors)
    page = args.get("page", "1")
    if not page.isascii() or not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        errors.append(FieldError("page", "must be a page number from 1", _("页码须为正整数")))
    if errors:
        raise FormInvalid(errors)
    return CaseFilter(site=case_site(session, actor, _text(args.get("site"))), q=_text(args.get("q")), process_id=_text(args.get("process")),
                      status=None if status == ALL else status, since=since,
                      before=before + timedelta(days=1) if before else None,
                      mine=actor.username if scope == "mine" else None, page=int(page))


def _text(value: str | None) -> str | None:
    """Search text as the database can compare it (PostgreSQL refuses NUL)."""
    return (value or "").replace("\x00", "").strip() or None


def _day(args, name: str, errors: list) -> datetime | None:
    """A local calendar day (2026-12-07) as the aware moment it starts."""
    text = args.get(name)
    if not text:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(), LOCAL_TZ)
    except ValueError:
        errors.append(FieldError(name, "must be a date such as 2026-12-07", _("日期格式应为 2026-12-07")))
        return None


def find_cases(args, actor) -> tuple[CasePage, dict]:
    """A page of cases with, for each running one, the messages it waits for (by case id)."""
    with reading() as session:
        page = search_cases(session, case_filter(session, args, actor))
        waiting = {}
        for row in page.rows:
            if row.case.status == InstanceStatus.RUNNING.value:
                compiled = VERSIONS.get(session, row.version_id)
                waiting[row.case.id] = waiting_messages(list_events(session, row.case.id), compiled)
    return page, waiting


@bp.route("/cases")
@roles_required(*READER_ROLES)
def case_list():
    """Open cases of my site (or only mine), found by reference, unit, phone, caller, procedure, day, status."""
    with reading() as session:
        catalogue = procedures(session)
    errors = {}
    try:
        page, waiting = find_cases(request.args, g.actor)
    except FormInvalid as exc:
        page, waiting = CasePage([], 1, False), {}
        errors = errors_by_field(exc.errors)
    title = _("我的案件") if request.args.get("scope") == "mine" else _("本中心案件")
    return render_template("case_list.html", page=page, waiting=waiting, catalogue=catalogue, args=request.args,
                           statuses=(*STATUSES, ALL), errors=errors, title=title)
