"""Tasks over the API: the inbox, one task with its form, claim, release and complete."""

from __future__ import annotations

import re

from flask import Blueprint, g, jsonify, request

from engine.accounts import permissions
from engine.accounts.users import DEPARTMENT_HEAD_ROLES, SUPERVISOR_ROLES
from engine.definitions.compiled import current_rules
from engine.errors import BadInput, FieldError, FormInvalid, PermissionDenied
from engine.runtime.queries import get_instance_row, get_task
from engine.store.models import OPEN_TASK_STATUSES
from web.api.access import roles
from web.api.bodies import json_object, step_json, task_detail_json, task_json
from web.auth import READER_ROLES, STAFF_ROLES
from web.runtime import reading, runtime
from web.tasks import inbox_tasks

bp = Blueprint("tasks", __name__)

SCOPES = ("inbox", "mine", "roles")
STATUSES = tuple(s.value for s in OPEN_TASK_STATUSES)
# An ETag as GET /tasks/{id} sends it ("7"), weak or bare; more digits than any version has are refused.
IF_MATCH = re.compile(r'\s*(?:W/)?"?(\d{1,18})"?\s*')


@bp.route("/tasks")
@roles(*READER_ROLES)
def list_open_tasks():
    """The inbox (my tasks, then my roles' open tasks), narrowed by scope, role, status or case."""
    scope = _choice("scope", SCOPES) or "inbox"
    status = _choice("status", STATUSES)
    role = request.args.get("role")
    if role is not None and role not in g.actor.roles:
        raise PermissionDenied(f"{g.actor.username} does not hold role {role!r}")
    reference = request.args.get("case")
    with reading() as session:
        instance_id = get_instance_row(session, reference, viewer=g.actor).id if reference is not None else None
        tasks = inbox_tasks(session, g.actor, instance_id)
    if scope == "mine":
        tasks = [t for t in tasks if t.assignee == g.actor.username]
    elif scope == "roles":
        tasks = [t for t in tasks if t.role in g.actor.roles]
    tasks = [t for t in tasks if (role is None or t.role == role) and (status is None or t.status == status)]
    return jsonify({"tasks": [task_json(t) for t in tasks]})


def _choice(name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.args.get(name)
    if value is not None and value not in allowed:
        raise FormInvalid([FieldError(name, f"must be one of: {', '.join(allowed)}")])
    return value


@bp.route("/tasks/<task_id>")
@roles(*READER_ROLES)
def show_task(task_id: str):
    """One task with its JSON Schema form, instructions, SOP clause and due time; ETag is the case version."""
    with reading() as session:
        task = get_task(session, task_id, viewer=g.actor)
        permissions.check_may_see_task(g.actor, task, current_rules(session))
    response = jsonify(task_detail_json(task))
    response.headers["ETag"] = f'"{task.lock_version}"'
    return response


@bp.route("/tasks/<task_id>/claim", methods=("POST",))
@roles(*STAFF_ROLES)
def claim(task_id: str):
    return jsonify(task_json(runtime().claim_task(task_id, g.actor.username)))


@bp.route("/tasks/<task_id>/unclaim", methods=("POST",))
@roles(*STAFF_ROLES)
def unclaim(task_id: str):
    return jsonify(task_json(runtime().unclaim_task(task_id, g.actor.username)))


@bp.route("/tasks/<task_id>/reassign", methods=("POST",))
@roles(*SUPERVISOR_ROLES, *DEPARTMENT_HEAD_ROLES)
def reassign(task_id: str):
    """A supervisor gives an open task of any role (a department head one of their department's) to
    someone who holds that role, with an optional reason."""
    body = json_object()
    to_user, reason = body.get("to"), body.get("reason")
    if not isinstance(to_user, str) or not to_user.strip():
        raise FormInvalid([FieldError("to", "the username of who should take the task")])
    if reason is not None and not isinstance(reason, str):
        raise FormInvalid([FieldError("reason", "why the task is reassigned, as text")])
    return jsonify(task_json(runtime().reassign_task(task_id, to_user.strip(), g.actor.username,
                                                     reason.strip() if reason else None)))


@bp.route("/tasks/<task_id>/complete", methods=("POST",))
@roles(*STAFF_ROLES)
def complete(task_id: str):
    """Complete a task with its form data; a stale `expected_version` or If-Match is a 409.

    The step itself refuses (403/409) a task the caller may not do or that is closed,
    before it reads the form, so nothing is read here first.
    """
    body = json_object(required=False)
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise FormInvalid([FieldError("data", "must be a JSON object of the form's fields")])
    expected_version = _expected_version(task_id, body)
    result = runtime().complete_task(task_id, data, g.actor, expected_version=expected_version)
    return jsonify(step_json(result))


def _expected_version(task_id: str, body: dict) -> int | None:
    """The case version the caller saw: `expected_version` in the body or the If-Match header."""
    value = body.get("expected_version")
    if type(value) is float and value.is_integer():  # JSON Schema's integer includes 7.0
        value = int(value)
    if value is not None and (type(value) is not int or value < 0):
        raise FormInvalid([FieldError("expected_version", "must be the task's `version`, a whole number")])
    header = request.headers.get("If-Match")
    if header is None or header.strip() == "*":
        return value
    match = IF_MATCH.fullmatch(header)
    if match is None:
        raise BadInput('If-Match must be the ETag of GET /api/v1/tasks/{id}, e.g. "7"')
    if value is not None and value != int(match.group(1)):
        with reading() as session:
            get_task(session, task_id, with_form=False, viewer=g.actor)  # a task that does not exist is a 404 first
        raise BadInput("expected_version and If-Match name different versions")
    return int(match.group(1))
