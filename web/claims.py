"""Claiming, releasing and reassigning tasks: one engine call each, then back."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from engine.accounts.users import DEPARTMENT_HEAD_ROLES, SUPERVISOR_ROLES
from web.auth import STAFF_ROLES, roles_required
from web.i18n import safe_next
from web.runtime import runtime

bp = Blueprint("claims", __name__)


def _back():
    return redirect(safe_next(request.form.get("next"), url_for("tasks.inbox")))


@bp.route("/tasks/<task_id>/claim", methods=("POST",))
@roles_required(*STAFF_ROLES)
def claim(task_id: str):
    runtime().claim_task(task_id, g.actor.username)
    flash(_("已认领"))
    return _back()


@bp.route("/tasks/<task_id>/unclaim", methods=("POST",))
@roles_required(*STAFF_ROLES)
def unclaim(task_id: str):
    runtime().unclaim_task(task_id, g.actor.username)
    flash(_("已放弃认领"))
    return _back()


@bp.route("/tasks/<task_id>/reassign", methods=("POST",))
@roles_required(*SUPERVISOR_ROLES, *DEPARTMENT_HEAD_ROLES)
def reassign(task_id: str):
    """Give the task to the person chosen, with the reason (kept in the audit trail)."""
    to_user = request.form.get("to_user", "").strip()
    reason = request.form.get("reason", "").strip()
    if not to_user or not reason:
        flash(_("请选择转派给谁并写明原因"))
        return _back()
    runtime().reassign_task(task_id, to_user, g.actor.username, reason)
    flash(_("已转派"))
    return _back()
