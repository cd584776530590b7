"""Opening a new request, the case page, and messages from outside (救护车已到达)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.definitions.compiled import VERSIONS, current_rules
from engine.definitions.forms import validate_form_data
from engine.errors import FormInvalid, NotFound, NothingWaiting
from engine.runtime import comments
from engine.runtime.queries import get_instance_row, instance_view, is_deployed, list_events, list_tasks
from engine.runtime.views import InstanceView, TaskView
from engine.scheduling.outbox import DeliveryView, case_deliveries
from engine.store.models import DeliveryState
from web.auth import DIRECT_START_ROLES, INTAKE_ROLES, READER_ROLES, STAFF_ROLES, roles_required
from web.forms import describe_form, errors_by_field, parse_form
from web.i18n import pick
from web.intake import (
    CATEGORIES,
    DIRECT_PROCEDURES,
    INTAKE_PROCESS,
    default_site,
    direct_start_schema,
    intake_schema,
)
from web.runtime import now, reading, runtime
from web.tasks import next_task_for
from web.templating import localtime
from web.timeline import TimelineRow, WaitingMessage, timeline, waiting_messages

bp = Blueprint("cases", __name__)


@bp.route("/cases/new", methods=("GET", "POST"))
@roles_required(*INTAKE_ROLES)
def new_case():
    """Take a request for help and start help_request, which registers and routes it."""
    with reading() as session:
        rules = current_rules(session)
        deployed = is_deployed(session, INTAKE_PROCESS)
    defaults = {"site": default_site(rules, g.actor.site), "received_at": now().isoformat()}
    if request.method == "POST" and not deployed:
        flash(_("求助受理流程尚未上线"))
        return render_template("case_new.html", fields=describe_form(intake_schema(rules), posted=request.form))
    return _start_form(INTAKE_PROCESS, intake_schema(rules), defaults, "case_new.html", direct=_direct_links())


@bp.route("/cases/new/<process_id>", methods=("GET", "POST"))
@roles_required(*DIRECT_START_ROLES)
def start_procedure(process_id: str):
    """Start a procedure that is not reached through help_request (浸水, 漏气, 入伙, 交接班)."""
    if process_id not in DIRECT_PROCEDURES:
        raise NotFound(f"{process_id} is not started from this page")
    with reading() as session:
        rules = current_rules(session)
    return _start_form(process_id, direct_start_schema(rules), {"site": default_site(rules, g.actor.site)},
                       "case_start.html", title=pick(*DIRECT_PROCEDURES[process_id]))


def _start_form(process_id: str, schema: dict, defaults: dict, template: str, **context):
    """Show the start form; on POST validate it, start the case and go on to my first task, if any."""
    if request.method == "GET":
        return render_template(template, fields=describe_form(schema, data=defaults), **context)
    try:
        data = validate_form_data(schema, parse_form(schema, request.form))
    except FormInvalid as exc:
        fields = describe_form(schema, posted=request.form, errors=errors_by_field(exc.errors))
        return render_template(template, fields=fields, form_invalid=True, **context), 400
    if "received_at" in schema["properties"]:
        data.setdefault("received_at", now().isoformat())
    result = runtime().start_instance(process_id, data, g.actor.username)
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
    category = CATEGORIES.get(case.category or case.process_id)
    return render_template("case.html", case=case, tasks=details.tasks, waiting=details.waiting,
                           category=pick(*category) if category else case.category,
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
    """The case with its open tasks, the messages it awaits and its timeline; `NotFound` if none."""
    with reading() as session:
        row = get_instance_row(session, ref)
        case = instance_view(session, row)
        compiled = VERSIONS.get(session, row.version_id)
        tasks = list_tasks(session, instance_id=row.id)
        events = list_events(session, row.id)
        deliveries = case_deliveries(session, row.id)
    waiting = waiting_messages(events, compiled) if case.status == "running" else []
    return CaseDetails(case, tasks, waiting, timeline(events, compiled, intake_schema(compiled.rules)), deliveries)


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


def _direct_links() -> list[tuple[str, str]]:
    return [(url_for("cases.start_procedure", process_id=pid), pick(*labels)) for pid, labels in DIRECT_PROCEDURES.items()]


@bp.route("/cases/<ref>/messages/<name>", methods=("POST",))
@roles_required(*STAFF_ROLES)
def send_message(ref: str, name: str):
    """Deliver a message the case waits for; say so plainly when it does not wait."""
    with reading() as session:
        row = get_instance_row(session, ref)
    try:
        runtime().send_message(row.id, name, {}, g.actor.username)
        flash(_("已收到消息"))
    except NothingWaiting:
        flash(_("该案件当前不在等待此消息"))
    return redirect(url_for("cases.case_view", ref=row.reference))
