"""Cases over the API: open a request, read a case, deliver a message from outside."""

from __future__ import annotations

import copy

from flask import Blueprint, g, jsonify, request, url_for

from engine.definitions.catalogue import procedures
from engine.definitions.compiled import current_rules
from engine.definitions.forms import PAST, PHONE_PATTERN, prepared_form_data, validate_form_data
from engine.errors import FieldError, FormInvalid
from engine.runtime.queries import get_instance_row
from web.api.access import CASE_READER_ROLES, REQUESTER_ROLES, check_may_read_case, roles
from web.api.bodies import (
    case_json,
    comment_json,
    json_object,
    step_json,
    task_json,
    timeline_json,
    waiting_json,
)
from web.auth import READER_ROLES, STAFF_ROLES
from web.case_list import find_cases
from web.cases import load_case
from web.intake import default_site, start_schema, triage_of
from web.runtime import reading, runtime

bp = Blueprint("cases", __name__)

NO_NUL = "^[^\\x00]*$"


@bp.route("/cases")
@roles(*READER_ROLES)
def list_cases():
    """The caller's site's cases, as the case list finds them: `q` matches reference, unit, phone, caller."""
    page, waiting = find_cases(request.args, g.actor)
    return jsonify({
        "cases": [{**case_json(row.case), "open_tasks": [task_json(t) for t in row.open_tasks],
                   "due_at": row.due_at.isoformat() if row.due_at else None,
                   "waiting_messages": [waiting_json(m) for m in waiting.get(row.case.id, [])]}
                  for row in page.rows],
        "page": page.page, "next_page": page.page + 1 if page.has_next else None,
    })


@bp.route("/cases", methods=("POST",))
@roles(*STAFF_ROLES, *REQUESTER_ROLES)  # which procedure each may start is the catalogue's to say
def open_case():
    """Start a procedure: `{"process": id, "data": {...}}`, or without `process` a request for
    help in the triage's start form (the new-request form's fields)."""
    body = json_object()
    extra = sorted(set(body) - {"process", "data"}) if "process" in body else []
    if extra:
        raise FormInvalid([FieldError(name, "not a field of this body: put the start form under data",
                                      "不是请求体的字段：开始表单请放在 data 中") for name in extra])
    with reading() as session:
        process_id = body.get("process") if "process" in body else triage_of(session)
        if not isinstance(process_id, str) or process_id not in procedures(session):
            raise FormInvalid([FieldError("process", "not a procedure that is online", "不是已上线的流程")])
        data = body.get("data", {}) if "process" in body else body
        if not isinstance(data, dict):
            raise FormInvalid([FieldError("data", "must be a JSON object", "必须是一个对象")])
        schema = api_start_schema(start_schema(session, process_id))
        site = default_site(current_rules(session), g.actor)
    data = {**data, "site": data.get("site", site)} if "site" in schema["properties"] else data
    validate_form_data(schema, prepared_form_data(schema, data))  # the API's stricter shape; the engine checks the start form itself
    result = runtime().start_instance(process_id, data, g.actor.username)
    response = jsonify(step_json(result))
    response.status_code = 201
    response.headers["Location"] = url_for(".show_case", ref=result.instance.reference)
    return response


def api_start_schema(start_form: dict) -> dict:
    """A start form as the API takes it and documents it: the site may be left out (the
    caller's own); unknown fields are refused rather than dropped unseen; and text may not
    hold NUL, which PostgreSQL cannot store."""
    schema = copy.deepcopy(start_form)
    schema["additionalProperties"] = False
    schema["required"] = [name for name in schema.get("required", []) if name != "site"]
    properties = schema.setdefault("properties", {})
    if "site" in properties:
        properties["site"]["description"] = "default: the caller's own site"
    for prop in properties.values():
        if prop.get("format") == "phone":  # a format of our own: say what it takes
            prop["pattern"] = f"^$|{PHONE_PATTERN}"
        if prop.get(PAST):
            prop["description"] = "not later than now"
        if prop.get("type") == "string" and "enum" not in prop:
            prop.setdefault("pattern", NO_NUL)
    return schema


def api_start_schemas(session) -> dict[str, dict]:
    """Each online procedure's start body as the API documents it."""
    return {pid: api_start_schema(start_schema(session, pid)) for pid in procedures(session)}


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
        row = get_instance_row(session, ref, viewer=g.actor)
    return jsonify(step_json(runtime().send_message(row.id, name, {}, g.actor.username)))


@bp.route("/cases/<ref>/comments", methods=("POST",))
@roles(*STAFF_ROLES, *REQUESTER_ROLES)
def add_comment(ref: str):
    """Add a comment (备注) to the case's record; a resident may comment on the cases they opened."""
    body = json_object()
    with reading() as session:
        check_may_read_case(get_instance_row(session, ref, viewer=g.actor))
    response = jsonify(comment_json(runtime().add_comment(ref, body, g.actor.username)))
    response.status_code = 201
    return response
