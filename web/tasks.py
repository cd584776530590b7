"""The inbox of open tasks and the page where a task is done."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.accounts import permissions, sites
from engine.definitions.compiled import VERSIONS, current_rules
from engine.definitions.form_people import staff_of_site
from engine.errors import ConflictError, FormInvalid, TaskNotReady
from engine.runtime.queries import get_instance_row, get_task, instance_view, list_events, list_tasks
from engine.store.models import OPEN_TASK_STATUSES
from web.auth import READER_ROLES, STAFF_ROLES, login_required, roles_required
from web.case_list import case_site
from web.forms import describe_form, errors_by_field, parse_form
from web.instructions import code_labels, render_instructions
from web.runtime import now, reading, runtime
from web.timeline import timeline

bp = Blueprint("tasks", __name__)
CHANGES_SHOWN = 5  # entries of the record shown after a conflict when the form's opening time is unknown



@bp.route("/")
@login_required
def inbox():
    return render_template("inbox.html", **_inbox())


@bp.route("/tasks")
@login_required
def task_list():
    """Where people look for "the tasks" (issue #16: it was a 404): the inbox is that list."""
    return redirect(url_for("tasks.inbox"))


@bp.route("/inbox/rows")
@login_required
def inbox_rows():
    """Only the table rows, fetched every 30 s by the inbox page."""
    return render_template("_inbox_rows.html", **_inbox())


def _inbox() -> dict:
    actor = g.actor
    with reading() as session:
        tasks = inbox_tasks(session, actor)
        site = case_site(session, actor)
        team = team_tasks(session, actor, site, {t.id for t in tasks})
        cases = {t.instance_id: instance_view(session, get_instance_row(session, t.instance_id)) for t in tasks + team}
        supervisor = permissions.is_supervisor(actor)
        candidates = reassign_candidates(session, actor, tasks + team)
    return {"tasks": tasks, "team_tasks": team, "cases": cases, "supervisor": supervisor, "candidates": candidates}


def team_tasks(session, actor, site: str | None, shown: set[str]) -> list:
    """A supervisor's team's open tasks at their site that their own inbox does not already show."""
    roles = permissions.team_roles(actor, current_rules(session))
    if not roles:
        return []
    return [t for t in list_tasks(session, roles=sorted(roles), site=site, viewer=actor) if t.id not in shown]


def reassign_candidates(session, actor, tasks) -> dict[tuple[str, str | None], list[tuple[str, str]]]:
    """For a supervisor, who may take each task, by (role, site): that site's holders of the role
    and the company-wide (engine/accounts/sites.py); for a department head, their department's tasks only."""
    if not permissions.may_reassign(actor):
        return {}
    team = None if permissions.is_supervisor(actor) else permissions.team_roles(actor, current_rules(session))
    return sites.colleagues(session, {(t.role, t.site) for t in tasks if t.role and (team is None or t.role in team)})


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
    fields = describe_form(_schema(task), data=task.data) if task.form_schema else []
    return _render(task, case, fields)


@bp.route("/tasks/<task_id>", methods=("POST",))
@roles_required(*STAFF_ROLES)
def submit_task(task_id: str):
    """Check the form, complete the task, then go to the next task or back to the case.

    When someone else got there first (the task closed, claimed by another, or the case
    changed since the form was opened) the page comes back with what was typed and what changed.
    """
    task, case = _load(task_id)
    schema = _schema(task)
    try:
        permissions.check_may_work_on(g.actor, task)  # before reading the form: 403, or a conflict if closed
        data = parse_form(schema, request.form) if task.form_schema else {}
        result = runtime().complete_task(task.id, data, g.actor,
                                         expected_version=request.form.get("lock_version", type=int))
    except FormInvalid as exc:
        fields = describe_form(schema, posted=request.form, errors=errors_by_field(exc.errors))
        return _render(task, case, fields, form_invalid=True), 400
    except (ConflictError, TaskNotReady):
        task, case = _load(task_id)  # as it is now
        return _render(task, case, describe_form(schema, posted=request.form), conflict=True,
                       changes=changes_since(case, request.form.get("__opened_at"))), 409
    flash(_("已提交"))
    nxt = next_task_for(g.actor, result.open_tasks)
    if nxt is not None:
        return redirect(url_for("tasks.task_page", task_id=nxt.id))
    return redirect(url_for("cases.case_view", ref=result.instance.reference))


def _schema(task) -> dict:
    """The task's form, its staff lists narrowed to the people of the case's site."""
    return staff_of_site(task.form_schema or {}, task.site)


def changes_since(case, opened_at: str | None) -> list:
    """The case's record since the form was opened (its last entries if that time is unknown)."""
    try:
        since = datetime.fromisoformat(opened_at) if opened_at else None
    except ValueError:
        since = None
    with reading() as session:
        row = get_instance_row(session, case.id)
        events = list_events(session, row.id)
        compiled = VERSIONS.get(session, row.version_id)
    rows = timeline(events, compiled, {})
    if since is not None and since.tzinfo is not None:
        return [r for r in rows if r.at > since]
    return rows[-CHANGES_SHOWN:]


def next_task_for(actor, open_tasks):
    """The first open task this person can do now, if any."""
    return next((task for task in open_tasks if permissions.may_do_now(actor, task)), None)


def _load(task_id: str):
    with reading() as session:
        task = get_task(session, task_id, viewer=g.actor)
        row = get_instance_row(session, task.instance_id)
        case = instance_view(session, row)
        rules = VERSIONS.get(session, row.version_id).rules
    permissions.check_may_see_task(g.actor, task, rules)  # a department head sees their department's
    g.instructions_budget = rules.budget(task.site)
    return task, case


def _render(task, case, fields, form_invalid=False, conflict=False, changes=None):
    with reading() as session:
        labels = code_labels(session, task.instance_id) if task.instructions else {}
    instructions, failed = render_instructions(task.instructions, task.data, g.instructions_budget, labels)
    is_open = task.status in OPEN_TASK_STATUSES
    # After a conflict the form may go again, as typed, on the case as it is now, if it is still mine to do.
    may_resubmit = conflict and is_open and permissions.may_do_now(g.actor, task)
    return render_template("task.html", task=task, case=case, fields=fields, instructions=instructions,
                           instructions_failed=failed, form_invalid=form_invalid, conflict=conflict,
                           is_open=is_open, lock_version=task.lock_version, changes=changes or [],
                           may_resubmit=may_resubmit, opened_at=now().isoformat())
