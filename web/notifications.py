"""My notifications: the bell's list, and marking messages read."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import BadInput
from engine.scheduling.outbox import list_notifications, mark_read
from web.auth import login_required
from web.runtime import reading, runtime

bp = Blueprint("notifications", __name__)


@bp.route("/notifications")
@login_required
def my_notifications():
    with reading() as session:
        notes = list_notifications(session, g.actor)
    return render_template("notifications.html", notes=notes)


@bp.route("/notifications/read", methods=("POST",))
@login_required
def read():
    """Mark one message (`id`) or, without one, all of mine read; then back to the list."""
    raw = request.form.get("id")
    if raw is not None and not raw.isdigit():
        raise BadInput("id must be a notification number")
    mark_read(runtime(), g.actor.username, [int(raw)] if raw else None)
    flash(_("已标为已读"))
    return redirect(url_for("notifications.my_notifications"))
