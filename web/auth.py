"""Logging in and out, and who may open which page."""

from __future__ import annotations

import functools

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from engine.accounts.login import password_matches
from engine.accounts.users import STAFF_ROLES, load_actor
from engine.errors import NotFound, PermissionDenied
from web.i18n import safe_next
from web.runtime import reading, runtime

bp = Blueprint("auth", __name__)

INTAKE_ROLES = ("reception", "cs_supervisor", "manager")
# Patrol emergencies are started by whoever finds them, guards included.
DIRECT_START_ROLES = INTAKE_ROLES + ("security_lead", "guard")
READER_ROLES = STAFF_ROLES + ("auditor",)
# Who may search and export the whole audit log.
AUDIT_ROLES = ("auditor", "manager")


@bp.before_app_request
def load_current_actor():
    """Put the logged-in actor (or None) in `g.actor` for views and templates."""
    g.actor = None
    username = session.get("user")
    if username:
        try:
            with reading() as db_session:
                g.actor = load_actor(db_session, username)
        except NotFound:
            session.pop("user", None)  # the account was removed or deactivated


def login_required(view):
    """Send people who are not logged in to the login page, then back here."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.actor is None:
            flash(_("请先登录"))
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(**kwargs)

    return wrapped


def roles_required(*roles):
    """Require login and one of `roles`; otherwise 403 (raised as `PermissionDenied`)."""

    def decorate(view):
        @functools.wraps(view)
        def checked(**kwargs):
            if not g.actor.roles & set(roles):
                raise PermissionDenied(f"{g.actor.username} may not do this")
            return view(**kwargs)

        return login_required(checked)

    return decorate


@bp.route("/login", methods=("GET", "POST"))
def login():
    """Show the login form; on POST check the password and start a 12-hour session."""
    error = None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        if not password_matches(runtime(), username, request.form.get("password", "")):
            error = _("用户名或密码不正确")
        else:
            lang = session.get("lang")
            session.clear()
            session.permanent = True
            session["user"] = username
            if lang:
                session["lang"] = lang
            return redirect(safe_next(request.args.get("next"), url_for("tasks.inbox")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=("POST",))
def logout():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("已退出"))
    return redirect(url_for("auth.login"))
