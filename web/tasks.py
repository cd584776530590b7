"""The inbox of open tasks and the page where a task is done."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.accounts import permissions, sites
from engine.definitions.compiled import VERSIONS
from engine.errors import ConflictError, FormInvalid
from engine.runtime.queries import get_instance_row, get_task, instance_view, list_tasks
from engine.store.models import OPEN_TASK_STATUSES
from web.auth import READER_ROLES, STAFF_ROLES, login_required, roles_required
from web.forms import describe_form, errors_by_field, parse_form
from web.instructions import render_instructions
from web.runtime import reading, runtime

bp = Blueprint("tasks", __name__)



@bp.route("/")
@login_required
def inbox():
    return render_template("inbox.html", **_inbox())


@bp.route("/inbox/rows")
@login_required
def inbox_rows():
    """Only the table rows, fetched every 30 s by the inbox page."""
    return render_template("_inbox_rows.html", **_inbox())


def _inbox() -> dict:
    actor = g.actor
    with reading() as session:
        tasks = inbox_tasks(session, actor)
        cases = {t.instance_id: instance_view(session, get_instance_row(session, t.instance_id)) for t in tasks}
        supervisor = permissions.is_supervisor(actor)
        candidates = sites.colleagues(session, {(t.role, t.site) for t in tasks if t.role}) if supervisor else {}
    return {"tasks": tasks, "cases": cases, "supervisor": supervisor, "candidates": candidates}


def inbox_tasks(session, actor, instance_id: int | None = None) -> list:
    """The actor's own tasks, then the other open tasks of their roles, at their sites; oldest first in each."""
    mine = list_tasks(session, assignee=actor.username, instance_id=instance_id, viewer=actor)
    for_roles = (list_tasks(session, roles=sorted(actor.roles), instance_id=instance_id, viewer=actor)
                 if actor.roles else [])
    seen = {t.id for t in mine}
    return mine + [t for t in for_roles if t.id not in seen]


@bp.route("/tasks/<task_id>")
@roles_required(*READER_ROLES)
def task_page(task_id: str):
    task, case = _load(task_id)
    permissions.check_may_see_task(g.actor, task)
    fields = describe_form(task.form_schema, data=task.data) if task.form_schema else []
    return _render(task, case, fields)


@bp.route("/tasks/<task_id>", methods=("POST",))
@roles_required(*STAFF_ROLES)
def submit_task(task_id: str):
    """Check the form, complete the task, then go to the next task or back to the case."""
    task, case = _load(task_id)
    permissions.check_may_work_on(g.actor, task)  # before reading the form: 403, or 409 if closed
    schema = task.form_schema or {}
    try:
        data = parse_form(schema, request.form) if task.form_schema else {}
        result = runtime().complete_task(task.id, data, g.actor,
                                         expected_version=request.form.get("lock_version", type=int))
    except FormInvalid as exc:
        fields = describe_form(schema, posted=request.form, errors=errors_by_field(exc.errors))
        return _render(task, case, fields, form_invalid=True), 400
    except ConflictError:
        fields = describe_form(schema, posted=request.form)
        return _render(task, case, fields, conflict=True), 409
    flash(_("已提交"))
    nxt = next_task_for(g.actor, result.open_tasks)
    if nxt is not None:
        return redirect(url_for("tasks.task_page", task_id=nxt.id))
    return redirect(url_for("cases.case_view", ref=result.instance.reference))


def next_task_for(actor, open_tasks):
    """The first open task this person can do now, if any."""
    return next((task for task in open_tasks if permissions.may_do_now(actor, task)), None)


def _load(task_id: str):
    with reading() as session:
        task = get_task(session, task_id, viewer=g.actor)
        row = get_instance_row(session, task.instance_id)
        case = instance_view(session, row)
        g.instructions_budget = VERSIONS.get(session, row.version_id).rules.budget(task.site)
    return task, case


def _render(task, case, fields, form_invalid=False, conflict=False):
    instructions, failed = render_instructions(task.instructions, task.data, g.instructions_budget)
    is_open = task.status in OPEN_TASK_STATUSES
    lock_version = request.form.get("lock_version", task.lock_version) if conflict else task.lock_version
    return render_template("task.html", task=task, case=case, fields=fields, instructions=instructions,
                           instructions_failed=failed, form_invalid=form_invalid, conflict=conflict,
                           is_open=is_open, lock_version=lock_version)
