"""Who is calling the API and what they may do.

Integrations send `Authorization: Bearer <token>`; the token acts as the user it was
made for (`estatedesk token create`), so that user's roles apply. The browser UI may
also call the API with its login session, but then every write must carry the
session's CSRF token in an `X-CSRFToken` header, as the HTML forms do.
"""

from __future__ import annotations

import functools

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import Unauthorized

from engine.accounts.tokens import actor_for_token
from engine.accounts.users import REQUESTER_ROLES
from engine.errors import NotFound, PermissionDenied
from web.auth import READER_ROLES
from web.runtime import reading

bp = Blueprint("access", __name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CASE_READER_ROLES = READER_ROLES + REQUESTER_ROLES
PUBLIC_ENDPOINTS = {"api.docs.openapi"}


def authenticate(csrf) -> None:
    """Set `g.actor` from the bearer token, else the login session; 401 when neither is good."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.method == "OPTIONS":
        return
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the token as 'Authorization: Bearer <token>'")
        with reading() as session:
            g.actor = actor_for_token(session, token.strip())
        if g.actor is None:
            raise Unauthorized("the token is unknown or was revoked")
        return
    if g.get("actor") is None:
        raise Unauthorized("send an API token as 'Authorization: Bearer <token>'")
    if request.method not in SAFE_METHODS:
        csrf.protect()  # a logged-in browser, so a forged cross-site request is possible


def roles(*allowed: str):
    """Let the view run only for holders of one of `allowed` (403 otherwise); recorded on the view."""

    def decorate(view):
        @functools.wraps(view)
        def checked(**kwargs):
            if not g.actor.roles & set(allowed):
                raise PermissionDenied(f"{g.actor.username} may not do this")
            return view(**kwargs)

        checked.api_roles = frozenset(allowed)
        return checked

    return decorate


def signed_in(view):
    """Let any authenticated caller run the view, whatever their roles; recorded like `roles`."""
    view.api_roles = frozenset({"*"})
    return view


def is_requester_only(actor) -> bool:
    """True for people who may see only the cases they opened (residents)."""
    return not actor.roles & set(READER_ROLES)


def check_may_read_case(case) -> None:
    """A resident sees only cases they opened; others' look as if they did not exist."""
    if is_requester_only(g.actor) and case.started_by != g.actor.username:
        raise NotFound(f"case {case.reference} does not exist")


@bp.route("/me")
@signed_in
def me():
    """Who the token or session acts as: lets an integrator check a token."""
    actor = g.actor
    return jsonify({"username": actor.username, "name": actor.name, "roles": sorted(actor.roles),
                    "site": actor.site})
