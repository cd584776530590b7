"""The duty desk's pages (004 4.1–4.3): the month's roster (a phone-friendly grid, CSV/Excel
in and out), a shift's duty log with its entries, calls and cases, and leave requests."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from engine.accounts import sites
from engine.duty import logbook, requests, roster
from engine.duty.figures import month_figures
from engine.duty.oncall import desk_shift
from engine.duty.policy import current_rules, duty_policy
from engine.duty.roster_files import assignments_from_rows, read_table
from engine.errors import BadInput, ConflictError, FormInvalid, NotFound, PermissionDenied
from engine.policy.duty_hours import next_month
from engine.store.models import DutyRequest, DutyShift, RequestStatus, User
from web.auth import READER_ROLES, STAFF_ROLES, roles_required
from web.duty_files import roster_file
from web.i18n import pick
from web.runtime import now, reading, runtime

bp = Blueprint("duty", __name__, url_prefix="/duty")


def _staff_only() -> None:
    """Pages auditors may read but not write (the roster, a shift's log)."""
    if not g.actor.roles & set(STAFF_ROLES):
        raise PermissionDenied(f"{g.actor.username} may read the duty desk but not write it")


def _own_site(site: str) -> str:
    """`site`, if the person works there (engine/accounts/sites.py); another site's roster,
    import or figures asked for by name is refused (403)."""
    sites.check_site(g.actor, site)
    return site


def _own_shift(shift_id: int) -> int:
    """`shift_id`, if its log is of a site the person works at; another site's answers as a
    shift that does not exist (404), as another site's case does."""
    with reading() as session:
        site = session.scalar(select(DutyShift.site).where(DutyShift.id == shift_id))
    if site is None or not sites.covers(g.actor, site):
        raise NotFound(f"no shift {shift_id}")
    return shift_id


def _own_request(request_id: int) -> int:
    with reading() as session:
        shift_id = session.scalar(select(DutyRequest.shift_id).where(DutyRequest.id == request_id))
    if shift_id is None:
        raise NotFound(f"no request {request_id}")
    _own_shift(shift_id)
    return request_id


def _site() -> str:
    """The actor's site, or the default site for people of every site."""
    if g.actor.site:
        return g.actor.site
    with reading() as session:
        return current_rules(session).default_site


@bp.route("/")
@roles_required(*READER_ROLES)  # staff and auditors: residents never see the roster or the log
def home():
    site = _site()
    moment = now()
    month = duty_policy_month(site, moment)
    with reading() as session:
        current = desk_shift(session, site, moment)
        mine = list(session.scalars(select(DutyShift).where(DutyShift.username == g.actor.username,
                                                            DutyShift.ends_at > moment)
                                    .order_by(DutyShift.starts_at).limit(10)))
        pending = list(session.scalars(select(DutyRequest).join(DutyShift, DutyShift.id == DutyRequest.shift_id).where(
            DutyShift.site == site, DutyRequest.status.in_((RequestStatus.PENDING, RequestStatus.APPROVED)))
            .order_by(DutyRequest.id)))
    return render_template("duty_home.html", site=site, current=current, mine=mine, pending=pending,
                           month=month, next_month=next_month(month))


def duty_policy_month(site: str, moment) -> str:
    """The site's local month at `moment`, "YYYY-MM"."""
    with reading() as session:
        return duty_policy(session, site).calendar.local_date(moment).isoformat()[:7]


@bp.route("/roster/<site>/<month>", methods=("GET", "POST"))
@roles_required(*READER_ROLES)  # staff and auditors: residents never see the roster or the log
def roster_page(site: str, month: str):
    if request.method == "POST":
        _staff_only()
    _own_site(site)
    errors, typed, status = {}, {}, 200
    if request.method == "POST":
        typed = {key[2:]: value for key, value in request.form.items() if key.startswith("a:")}
        seen = request.form.get("version", "")
        assignments = {}
        for key, username in typed.items():
            day, _sep, post = key.partition("/")
            try:
                assignments[(date.fromisoformat(day), post)] = username
            except ValueError:
                raise BadInput(f"not a day: {day!r}") from None
        try:
            roster.save_roster(runtime(), site, month, assignments, g.actor.username,
                               int(seen) if seen.isdigit() else None)
            if request.form.get("action") == "publish":
                roster.publish_roster(runtime(), site, month, g.actor.username)
                flash(_("值班安排表已发布"))
            else:
                flash(_("值班安排表草稿已保存"))
            return redirect(url_for("duty.roster_page", site=site, month=month))
        except FormInvalid as invalid:
            errors, status = {e.field: e for e in invalid.errors}, 422
        except ConflictError:  # the work stays on the page, over the newer version
            flash(_("值班安排表已被他人修改：下面是您填写的内容，请核对后再保存"))
            status = 409
    with reading() as session:
        view = roster.roster_view(session, site, month)
        policy = duty_policy(session, site)
        names = dict(session.execute(select(User.username, User.name)).all())
        choices = {post: sorted(roster.holders(session, roster.role_of_post(policy, post), site))
                   for post in view.posts}
    return render_template("duty_roster.html", view=view, choices=choices, names=names, errors=errors,
                           typed=typed), status


@bp.route("/roster/<site>/<month>/export.<kind>")
@roles_required(*READER_ROLES)  # staff and auditors: residents never see the roster or the log
def export_roster(site: str, month: str, kind: str):
    _own_site(site)
    if kind not in ("csv", "xlsx"):
        raise BadInput("export as csv or xlsx")
    with reading() as session:
        view = roster.roster_view(session, site, month)
    filename = f"roster-{site}-{month}.{kind}"
    mime = "text/csv; charset=utf-8" if kind == "csv" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(roster_file(view, filename), mimetype=mime,
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/roster/import", methods=("POST",))
@roles_required(*STAFF_ROLES)  # writes: staff only (an auditor reads, never changes)
def import_roster():
    """Save the drafts in an uploaded CSV or Excel file; problems go back to the page in words."""
    back = url_for("duty.roster_page", site=request.form.get("site") or _site(),
                   month=request.form.get("month") or duty_policy_month(_site(), now()))
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择要导入的文件"))
        return redirect(back)
    try:
        found = assignments_from_rows(read_table(upload.read(), upload.filename))
        for site, _month in found:
            _own_site(site)  # before saving anything: a file naming another site saves nothing
        for (site, month), assignments in sorted(found.items()):
            roster.save_roster(runtime(), site, month, assignments, g.actor.username)
    except FormInvalid as invalid:
        for error in invalid.errors[:10]:
            flash(pick(error.zh, error.en) or error.message)
        return redirect(back)
    flash(_("已导入值班安排表"))
    if found:
        site, month = sorted(found)[0]
        back = url_for("duty.roster_page", site=site, month=month)
    return redirect(back)


@bp.route("/shifts/<int:shift_id>", methods=("GET", "POST"))
@roles_required(*READER_ROLES)  # staff and auditors: residents never see the roster or the log
def shift_page(shift_id: int):
    if request.method == "POST":
        _staff_only()  # first: an auditor learns nothing of which shifts exist
    _own_shift(shift_id)
    errors, typed = {}, {}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in ("happened", "done", "evidence", "corrects")}
        corrects = typed["corrects"]
        try:
            logbook.write_entry(runtime(), shift_id, g.actor.username, typed["happened"], typed["done"],
                                typed["evidence"], int(corrects) if corrects.isdigit() else None)
            flash(_("已记入值班记录"))
            return redirect(url_for("duty.shift_page", shift_id=shift_id))
        except FormInvalid as invalid:
            errors = {e.field: e for e in invalid.errors}
    with reading() as session:
        log = logbook.shift_log(session, shift_id)
        names = dict(session.execute(select(User.username, User.name)).all())
    return render_template("duty_shift.html", log=log, names=names, errors=errors, typed=typed,
                           may_write=not log.closed and log.shift.username == g.actor.username
                           and log.shift.starts_at <= now()), 422 if errors else 200


@bp.route("/shifts/<int:shift_id>/leave", methods=("POST",))
@roles_required(*STAFF_ROLES)  # writes: staff only (an auditor reads, never changes)
def ask_leave(shift_id: int):
    _own_shift(shift_id)
    try:
        requests.request_leave(runtime(), shift_id, request.form.get("reason", ""), g.actor.username)
    except FormInvalid:
        flash(_("请填写请假或调班原因"))
        return redirect(url_for("duty.home"))
    flash(_("请假申请已提交主管"))
    return redirect(url_for("duty.home"))


@bp.route("/requests/<int:request_id>", methods=("POST",))
@roles_required(*STAFF_ROLES)  # writes: staff only (an auditor reads, never changes)
def decide(request_id: int):
    _own_request(request_id)
    action = request.form.get("action")
    if action in ("approve", "refuse"):
        requests.decide_request(runtime(), request_id, action == "approve", g.actor.username)
        flash(_("已批准") if action == "approve" else _("已拒绝"))
    elif action == "substitute":
        try:
            requests.assign_substitute(runtime(), request_id, request.form.get("substitute", ""), g.actor.username)
            flash(_("已安排顶班人"))
        except FormInvalid as invalid:
            flash(pick(invalid.errors[0].zh, invalid.errors[0].en))
    else:
        raise BadInput("approve, refuse or substitute")
    return redirect(url_for("duty.home"))


@bp.route("/figures/<site>/<month>")
@roles_required("cs_supervisor", "manager", "auditor")
def figures_page(site: str, month: str):
    """Each clerk's month: shifts, handovers on time, log entries, late answers (004 4.4)."""
    _own_site(site)
    with reading() as session:
        rows = month_figures(session, site, month)
        names = dict(session.execute(select(User.username, User.name)).all())
    return render_template("duty_figures.html", rows=rows, names=names, site=site, month=month)


@bp.context_processor
def post_labels():
    """`post_label(post)`: the desk posts by name, the on-call posts by their role's name."""
    with reading() as session:
        roles = current_rules(session).roles

    def post_label(post: str) -> str:
        if post == "day":
            return _("日间值守")
        if post == "duty":
            return _("值班")
        role = roles.get(post)
        return _("%(role)s（候命）", role=pick(role.zh, role.en)) if role else post

    return {"post_label": post_label}
