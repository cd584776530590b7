"""Logging in and out, changing one's password, and who may open which page."""

from __future__ import annotations

import functools
import math

from flask import Blueprint, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.accounts.login import (
    MIN_PASSWORD_LENGTH,
    actor_for_session,
    change_password,
    log_in,
    log_out,
)
from engine.accounts.users import STAFF_ROLES
from engine.errors import PermissionDenied
from web.i18n import safe_next
from web.runtime import now, reading, runtime

bp = Blueprint("auth", __name__)

READER_ROLES = STAFF_ROLES + ("auditor",)
# Who may search and export the whole audit log.
AUDIT_ROLES = ("auditor", "manager")
# The cookie session's key for the login session's secret (engine/accounts/login.py).
LOGIN_KEY = "login"


@bp.before_app_request
def load_current_actor():
    """Put the logged-in actor (or None) in `g.actor` for views and templates.

    The browser's cookie names a login session the server keeps; one that was ended
    (logout, a new password), has expired, or whose account was deactivated logs nobody in.
    """
    g.actor = None
    token = session.get(LOGIN_KEY)
    if token:
        with reading() as db_session:
            g.actor = actor_for_session(db_session, token, now())
    if g.actor is None and (token or "user" in session):
        _forget_login()


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
    error, status, result = None, 200, None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        result = log_in(runtime(), username, request.form.get("password", ""), request.remote_addr or "")
        if result.ok:
            _start_session(username, result.token)
            return redirect(safe_next(request.args.get("next"), url_for("tasks.inbox")))
        error, status = _refusal(result)
    return _with_retry_after(make_response(render_template("login.html", error=error), status), result)


def _refusal(result) -> tuple[str, int]:
    """What a refused password says: wrong (401), or too many tries and when to try again (429)."""
    if result.retry_at is None:
        return _("用户名或密码不正确"), 401
    minutes = max(1, math.ceil(_seconds_left(result) / 60))
    return ngettext("登录失败次数过多，请 %(num)d 分钟后再试", "登录失败次数过多，请 %(num)d 分钟后再试", minutes), 429


def _seconds_left(result) -> float:
    return (result.retry_at - now()).total_seconds()


def _with_retry_after(response, result):
    if result is not None and result.retry_at is not None:
        response.headers["Retry-After"] = str(max(1, math.ceil(_seconds_left(result))))
    return response


def _start_session(username: str, token: str) -> None:
    """A fresh cookie session for a new login (nothing carried over but the language)."""
    lang = session.get("lang")
    session.clear()
    session.permanent = True
    session["user"], session[LOGIN_KEY] = username, token
    if lang:
        session["lang"] = lang


def _forget_login() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


@bp.route("/logout", methods=("POST",))
def logout():
    """End this browser's login session on the server, so a kept or copied cookie is worthless."""
    token = session.get(LOGIN_KEY)
    if token:
        log_out(runtime(), token)
    _forget_login()
    flash(_("已退出"))
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=("GET", "POST"))
@login_required
def change_password_page():
    """Change one's own password: every other login of this person ends; this browser stays in."""
    error, status, result = None, 200, None
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if len(new) < MIN_PASSWORD_LENGTH:
            error, status = _("新密码至少 %(n)d 个字符", n=MIN_PASSWORD_LENGTH), 400
        elif new != request.form.get("new_password_again", ""):
            error, status = _("两次输入的新密码不一致"), 400
        else:
            result = change_password(runtime(), g.actor.username, request.form.get("current_password", ""), new,
                                     request.remote_addr or "")
            if result.ok:
                _start_session(g.actor.username, result.token)
                flash(_("密码已修改，其他设备上的登录已退出"))
                return redirect(url_for("tasks.inbox"))
            error, status = _refusal(result)
            if status == 401:
                error = _("当前密码不正确")
    page = render_template("password.html", error=error, min_length=MIN_PASSWORD_LENGTH)
    return _with_retry_after(make_response(page, status), result)
