"""The JSON API under /api/v1: what the web app does, for phone systems and mini-programs.

Each module holds one blueprint, nested here under the /api/v1 prefix; `access`
authenticates every request before any of them runs, then `idempotency` answers a retried
POST from what its Idempotency-Key kept.
"""

from __future__ import annotations

import functools

from flask import Blueprint

from web.api import access, cases, duty, idempotency, openapi, tasks

PARTS = (access.bp, cases.bp, tasks.bp, duty.bp, openapi.bp)


def blueprint(csrf) -> Blueprint:
    """The API blueprint; CSRF is checked by `access` only for session-cookie writes."""
    bp = Blueprint("api", __name__, url_prefix="/api/v1")
    for part in PARTS:
        bp.register_blueprint(part)
        csrf.exempt(part)  # bearer tokens are not sent by browsers on their own, so forgery needs none
    bp.before_request(functools.partial(access.authenticate, csrf))
    idempotency.register(bp)  # after authentication: keys are per caller
    return bp
