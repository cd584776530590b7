"""The EstateDesk web app: `create_app()` builds it around one engine `Runtime`."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from engine.duty.oncall import RosterRecipients
from engine.runtime.step import Runtime
from engine.store.db import Database
from web import (
    api,
    audit_log,
    auth,
    case_list,
    cases,
    claims,
    designer,
    diagrams,
    duty,
    errors,
    i18n,
    notifications,
    operations,
    security,
    tasks,
    templating,
)
from web.stats import views as stats

csrf = CSRFProtect()
MAX_REQUEST_BYTES = 4 * 1024 * 1024


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` may give DATABASE_URL, a DATABASE, or a ready RUNTIME."""
    app = Flask(__name__)
    app.config.update(
        # Without ESTATEDESK_SECRET_KEY each process draws its own random key, so sessions
        # end when the server restarts and several servers would not share logins.
        SECRET_KEY=os.environ.get("ESTATEDESK_SECRET_KEY") or secrets.token_hex(32),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # "auto": Secure when the request came over HTTPS (behind a proxy: see web/serve.py).
        SESSION_COOKIE_SECURE=security.cookie_secure_setting(os.environ.get("ESTATEDESK_SESSION_COOKIE_SECURE")),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the 12-hour session
        # The library folders (`estatedesk --processes/--forms`): the modeler checks an edit against
        # them, and a deploy from the modeler writes its diagram into PROCESSES_DIR.
        PROCESSES_DIR="processes",
        FORMS_DIR="forms",
        # Larger bodies are refused (413) before they are read; the largest real one is a
        # diagram sent by the modeler, which may have up to MAX_DIAGRAM_BYTES.
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    app.config.update(config or {})
    app.extensions["estatedesk"] = _runtime(app.config)
    csrf.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    operations.init_app(app)

    for module in (auth, i18n, tasks, claims, case_list, cases, notifications, diagrams, audit_log, designer, stats,
                   duty):
        app.register_blueprint(module.bp)
    app.register_blueprint(api.blueprint(csrf))
    errors.register(app)
    templating.register(app)
    return app


def _runtime(config) -> Runtime:
    if config.get("RUNTIME") is not None:
        return config["RUNTIME"]
    db = config.get("DATABASE") or Database(config.get("DATABASE_URL"))
    return Runtime(db, recipients=RosterRecipients())  # after hours, messages reach the rostered people
