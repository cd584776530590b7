"""The phone system's side of the duty desk: `call_answered` with its ring count (004 4.1.5)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify

from engine.accounts import sites
from engine.definitions.forms import validate_form_data
from engine.duty import logbook
from web.api.access import roles
from web.api.bodies import json_object
from web.api.openapi import SCHEMAS
from web.auth import STAFF_ROLES
from web.runtime import runtime

bp = Blueprint("duty", __name__)


@bp.route("/duty/calls", methods=("POST",))
@roles(*STAFF_ROLES)
def call_answered():
    """Record a call the desk answered: `{"event": "call_answered", "site", "rings", "caller"}`.

    It goes on the log of the desk shift on duty now; a call over three rings counts as late.
    Without `rings` (the desk registering a call by hand) it is recorded but not judged.
    """
    body = json_object()
    validate_form_data(SCHEMAS["CallAnswered"], body)  # the document's schema, the one check
    sites.check_site(g.actor, body["site"])  # a desk records its own site's calls
    shift = logbook.record_call(runtime(), body["site"], body.get("rings"), body.get("caller", ""),
                                "phone_system" if "rings" in body else "desk", g.actor.username)
    response = jsonify({"recorded": True, "shift": shift})
    response.status_code = 201
    return response
