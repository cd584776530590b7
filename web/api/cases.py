"""Cases over the API: open a request, read a case, deliver a message from outside."""

from __future__ import annotations

import copy

from flask import Blueprint, g, jsonify, url_for

from engine.definitions.compiled import current_rules
from engine.definitions.forms import validate_form_data
from engine.errors import FieldError, FormInvalid
from engine.runtime.queries import get_instance_row
from web.api.access import API_INTAKE_ROLES, CASE_READER_ROLES, REQUESTER_ROLES, check_may_read_case, roles
from web.api.bodies import (
    case_json,
    comment_json,
    json_object,
    step_json,
    task_json,
    timeline_json,
    waiting_json,
)
from web.auth import STAFF_ROLES
from web.cases import load_case
from web.intake import default_site, intake_schema, request_process
from web.runtime import reading, runtime

bp = Blueprint("cases", __name__)

NOT_ONLINE = "this kind of request has no procedure online yet"
NO_NUL = "^[^\\x00]*$"


@bp.route("/cases", methods=("POST",))
@roles(*API_INTAKE_ROLES)
def open_case():
    """Take a request for help (the new-request form's fields) and start its procedure."""
    data = json_object()
    with reading() as session:
        rules = current_rules(session)
        schema = api_intake_schema(session, rules)
    data.setdefault("site", default_site(rules, g.actor.site))
    validate_form_data(schema, data)
    with reading() as session:
        process_id = request_process(session, data)
    if process_id is None:  # taken offline since the check above
        raise FormInvalid([FieldError("category", NOT_ONLINE)])
    result = runtime().start_instance(process_id, data, g.actor.username)
    response = jsonify(step_json(result))
    response.status_code = 201
    response.headers["Location"] = url_for(".show_case", ref=result.instance.reference)
    return response


def api_intake_schema(session, rules) -> dict:
    """The new-request form as the API takes it and documents it.

    Only kinds of request that can be opened now are offered; the site may be left out
    (the caller's own); unknown fields are refused rather than dropped unseen; and text
    may not hold NUL, which PostgreSQL cannot store.
    """
    schema = copy.deepcopy(intake_schema(rules))
    schema["additionalProperties"] = False
    schema["required"] = [name for name in schema["required"] if name != "site"]
    properties = schema["properties"]
    properties["category"]["enum"] = [c for c in properties["category"]["enum"]
                                      if request_process(session, {"category": c}) is not None]
    properties["site"]["description"] = "default: the caller's own site"
    for prop in properties.values():
        if prop.get("type") == "string" and "enum" not in prop:
            prop.setdefault("pattern", NO_NUL)
    return schema


@bp.route("/cases/<ref>")
@roles(*CASE_READER_ROLES)
def show_case(ref: str):
    """The case by reference or id: summary, open tasks, awaited messages, timeline."""
    details = load_case(ref)
    check_may_read_case(details.case)
    return jsonify({**case_json(details.case), "tasks": [task_json(t) for t in details.tasks],
                    "waiting_messages": [waiting_json(m) for m in details.waiting],
                    "timeline": [timeline_json(row) for row in details.timeline]})


@bp.route("/cases/<ref>/messages/<name>", methods=("POST",))
@roles(*STAFF_ROLES)
def send_message(ref: str, name: str):
    """Deliver a message the case waits for (e.g. ambulance_arrived); 409 if it does not wait."""
    with reading() as session:
        row = get_instance_row(session, ref)
    return jsonify(step_json(runtime().send_message(row.id, name, {}, g.actor.username)))


@bp.route("/cases/<ref>/comments", methods=("POST",))
@roles(*STAFF_ROLES, *REQUESTER_ROLES)
def add_comment(ref: str):
    """Add a comment (备注) to the case's record; a resident may comment on the cases they opened."""
    body = json_object()
    with reading() as session:
        check_may_read_case(get_instance_row(session, ref))
    response = jsonify(comment_json(runtime().add_comment(ref, body, g.actor.username)))
    response.status_code = 201
    return response
