"""Opening a new request, the case page, and messages from outside (救护车已到达)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.definitions.catalogue import procedures as online_procedures
from engine.definitions.catalogue import start_form_of
from engine.definitions.compiled import VERSIONS, current_rules
from engine.errors import FormInvalid, NotFound, NothingWaiting, PermissionDenied
from engine.runtime import comments
from engine.runtime.queries import get_instance_row, instance_view, list_events, list_tasks
from engine.runtime.views import InstanceView, TaskView
from engine.scheduling.outbox import DeliveryView, case_deliveries
from engine.store.models import DeliveryState
from web.auth import READER_ROLES, STAFF_ROLES, roles_required
from web.forms import describe_form, errors_by_field, parse_form
from web.i18n import pick, safe_next
from web.intake import default_site, own_sites_form, start_schema, startable, triage_of
from web.runtime import now, reading, runtime
from web.tasks import next_task_for, reassign_candidates
from web.templating import localtime
from web.timeline import TimelineRow, WaitingMessage, timeline, waiting_messages

bp = Blueprint("cases", __name__)


@bp.route("/cases/new", methods=("GET", "POST"))
@roles_required(*STAFF_ROLES)
def new_case():
    """What I may start: the triage's form (求助受理) when it is mine, and every other procedure."""
    with reading() as session:
        procedures = startable(session, g.actor)
        triage = triage_of(session)
        offline = triage not in online_procedures(session)
    if not procedures:
        raise PermissionDenied(f"{g.actor.username} may start no procedure")
    if triage not in {p.process_id for p in procedures}:
        if request.method == "POST":
            raise PermissionDenied(f"{g.actor.username} may not start {triage}")
        return render_template("case_new.html", fields=None, triage_offline=offline, others=_links(procedures))
    others = [p for p in procedures if p.process_id != triage]
    return _start_form(triage, "case_new.html", others=_links(others))


@bp.route("/cases/new/<process_id>", methods=("GET", "POST"))
@roles_required(*STAFF_ROLES)
def start_procedure(process_id: str):
    """Start any procedure of the catalogue I may start (浸水, 漏气, 入伙, 交接班, a designer's new one)."""
    with reading() as session:
        procedure = next((p for p in startable(session, g.actor) if p.process_id == process_id), None)
    if procedure is None:
        raise NotFound(f"{process_id} is no procedure {g.actor.username} may start")
    return _start_form(process_id, "case_start.html", title=pick(procedure.name, procedure.name_en))


def _links(procedures) -> list[tuple[str, str]]:
    return [(url_for("cases.start_procedure", process_id=p.process_id), pick(p.name, p.name_en)) for p in procedures]


def _start_form(process_id: str, template: str, **context):
    """Show the start form; on POST start the case (the engine checks the form) and go on to my
    first task, if any."""
    with reading() as session:
        schema = start_schema(session, process_id)
        rules = current_rules(session)
    shown = own_sites_form(schema, g.actor)  # another site, posted anyway, is the engine's to refuse (403)
    defaults = {"site": default_site(rules, g.actor)}
    if "received_at" in schema["properties"]:
        defaults["received_at"] = now().isoformat()
    if request.method == "GET":
        return render_template(template, fields=describe_form(shown, data=defaults), **context)
    try:
        data = parse_form(schema, request.form)
        if "received_at" in schema["properties"]:
            data.setdefault("received_at", now().isoformat())
        result = runtime().start_instance(process_id, data, g.actor.username)
    except FormInvalid as exc:
        fields = describe_form(shown, posted=request.form, errors=errors_by_field(exc.errors))
        return render_template(template, fields=fields, form_invalid=True, **context), 400
    nxt = next_task_for(g.actor, result.open_tasks)
    if nxt is not None:
        return redirect(url_for("tasks.task_page", task_id=nxt.id))
    return redirect(url_for("cases.case_view", ref=result.instance.reference))


@bp.route("/cases/<ref>")
@roles_required(*READER_ROLES)
def case_view(ref: str):
    """The case: summary, open tasks, timeline, buttons for the messages it awaits, a comment box."""
    return _case_page(ref, describe_form(comments.SCHEMA))


def _case_page(ref: str, comment_fields: list, status: int = 200):
    details = load_case(ref)
    case = details.case
    with reading() as session:
        candidates = reassign_candidates(session, g.actor, details.tasks)
    return render_template("case.html", case=case, tasks=details.tasks, waiting=details.waiting,
                           candidates=candidates,
                           category=pick(*case.category_label) if case.category_label else case.category,
                           timeline=details.timeline, can_act=bool(g.actor.roles & set(STAFF_ROLES)),
                           comment_fields=comment_fields,
                           deliveries=[(d, delivery_status(d)) for d in details.deliveries]), status


@bp.route("/cases/<ref>/comments", methods=("POST",))
@roles_required(*STAFF_ROLES)
def add_comment(ref: str):
    """Write a comment into the case's record; an empty or too long one is shown again with its error."""
    try:
        data = parse_form(comments.SCHEMA, request.form)
        comment = runtime().add_comment(ref, data, g.actor.username)
    except FormInvalid as exc:
        fields = describe_form(comments.SCHEMA, posted=request.form, errors=errors_by_field(exc.errors))
        return _case_page(ref, fields, 400)
    flash(_("已添加备注"))
    return redirect(url_for("cases.case_view", ref=comment.reference, _anchor="comments"))


@dataclass(frozen=True)
class CaseDetails:
    case: InstanceView
    tasks: list[TaskView]
    waiting: list[WaitingMessage]
    timeline: list[TimelineRow]
    deliveries: list[DeliveryView]


def load_case(ref: str) -> CaseDetails:
    """The case with its open tasks, the messages it awaits and its timeline; `NotFound` if none
    or at a site the person does not work at."""
    with reading() as session:
        row = get_instance_row(session, ref, viewer=g.actor)
        case = instance_view(session, row)
        compiled = VERSIONS.get(session, row.version_id)
        tasks = list_tasks(session, instance_id=row.id)
        events = list_events(session, row.id)
        # A case started without a start form of its own (by the CLI, or called by the triage)
        # carries the triage's fields: the triage's form names them.
        start_form = start_form_of(compiled) or _triage_form(session)
        deliveries = case_deliveries(session, row.id)
    waiting = waiting_messages(events, compiled) if case.status == "running" else []
    return CaseDetails(case, tasks, waiting, timeline(events, compiled, start_form), deliveries)


def delivery_status(delivery: DeliveryView) -> str:
    """How a notification fared on one channel, in words: sent when, held till when, failing, given up."""
    state = delivery.state
    if state == DeliveryState.SENT:
        return _("已送达 %(time)s", time=localtime(delivery.sent_at, "%H:%M:%S"))
    if state == DeliveryState.SENDING:
        return _("发送中")
    if state == DeliveryState.DEAD:
        return _("未能送达（已尝试 %(n)s 次）", n=delivery.attempts)
    if state == DeliveryState.UNCONFIRMED:
        return _("未确认：发送中途中断，为免重复不再重发")
    if delivery.attempts:
        return _("第 %(n)s 次失败，%(time)s 重试", n=delivery.attempts, time=localtime(delivery.next_attempt_at, "%H:%M:%S"))
    if delivery.held_until:
        return _("静默时段，%(time)s 发送", time=localtime(delivery.held_until, "%m-%d %H:%M"))
    return _("待发送")


def _triage_form(session) -> dict:
    triage = triage_of(session)
    return start_schema(session, triage) if triage in online_procedures(session) else {}


@bp.route("/cases/<ref>/messages/<name>", methods=("POST",))
@roles_required(*STAFF_ROLES)
def send_message(ref: str, name: str):
    """Deliver a message the case waits for; say so plainly when it does not wait."""
    with reading() as session:
        row = get_instance_row(session, ref, viewer=g.actor)
    try:
        runtime().send_message(row.id, name, {}, g.actor.username)
        flash(_("已收到消息"))
    except NothingWaiting:
        flash(_("该案件当前不在等待此消息"))
    # From the case list, back to the list as it was searched.
    return redirect(safe_next(request.form.get("next"), url_for("cases.case_view", ref=row.reference)))
