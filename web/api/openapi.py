"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

It is built per request from the deployed library, so the intake body lists the
sites and the kinds of request that can be opened now, exactly as the API checks
them; tests run schemathesis against it to keep the two in step.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from engine.runtime import comments
from engine.runtime.case_list import SCOPES as CASE_SCOPES
from engine.store.models import InstanceStatus, TaskStatus
from web.api.cases import api_start_schemas
from web.api.idempotency import KEY_PATTERN
from web.api.tasks import SCOPES, STATUSES
from web.case_list import MAX_PAGE
from web.case_list import STATUSES as CASE_STATUSES
from web.intake import triage_of
from web.runtime import reading

bp = Blueprint("docs", __name__)

JSON = "application/json"


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


TIME = {"type": "string", "format": "date-time"}
TASK_PROPERTIES = {
    "id": {"type": "string", "format": "uuid"},
    "case_id": {"type": "integer"},
    "case": {"type": "string", "description": "the case's reference number"},
    "process_id": {"type": "string"},
    "element_id": {"type": "string"},
    "name": {"type": "string"},
    "role": _nullable("string", description="the role whose members may do the task"),
    "status": {"type": "string", "enum": [s.value for s in TaskStatus]},
    "assignee": _nullable("string"),
    "form_id": _nullable("string"),
    "created_at": TIME,
    "due_at": _nullable("string", format="date-time", description="when the SOP's time limit runs out"),
    "overdue": {"type": "boolean"},
    "time_left_seconds": _nullable("integer", description="whole seconds until due_at; negative once overdue"),
    "version": {"type": "integer", "description": "the case's version; send it back as expected_version"},
}
CASE_PROPERTIES = {
    "id": {"type": "integer"},
    "reference": {"type": "string", "examples": ["JJ-20261123-0001"]},
    "process_id": {"type": "string"},
    "process_name": {"type": "string"},
    "process_version": {"type": "integer"},
    "status": {"type": "string", "enum": [s.value for s in InstanceStatus]},
    "site": _nullable("string"),
    "category": _nullable("string"),
    "category_label": _nullable("string"),
    "unit": _nullable("string"),
    "caller": _nullable("string"),
    "phone": _nullable("string"),
    "summary": _nullable("string"),
    "started_by": {"type": "string", "description": "who opened the case: its requester when a resident"},
    "created_at": TIME,
    "updated_at": TIME,
    "version": {"type": "integer", "description": "changes whenever the case changes"},
    "cancel_reason": _nullable("string"),
}


def _object(properties: dict, description: str | None = None) -> dict:
    schema = {"type": "object", "required": list(properties), "properties": properties}
    return {**schema, "description": description} if description else schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS = {
    "CallAnswered": {
        "type": "object", "additionalProperties": False, "required": ["site"],
        "properties": {
            "event": {"type": "string", "const": "call_answered"},
            "site": {"type": "string", "maxLength": 50, "pattern": "^[^\\x00]*$"},
            "rings": {"type": "integer", "minimum": 1, "maximum": 99,
                      "description": "rings before the desk answered; more than three counts as late (004 4.1.5)"},
            "caller": {"type": "string", "maxLength": 100, "pattern": "^[^\\x00]*$"},
        },
    },
    "CallRecorded": {
        "type": "object", "required": ["recorded", "shift"],
        "properties": {"recorded": {"type": "boolean"}, "shift": {"type": "integer"}},
    },
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "invalid data: a message per field, named by its dotted path"},
        },
    },
    "Me": _object({"username": {"type": "string"}, "name": {"type": "string"},
                   "roles": {"type": "array", "items": {"type": "string"}}, "site": _nullable("string")}),
    "Task": _object(TASK_PROPERTIES),
    "TaskList": _object({"tasks": {"type": "array", "items": _ref("Task")}}),
    "TaskDetail": _object({
        **TASK_PROPERTIES,
        "clause": _nullable("string", description="the SOP clause the task carries out"),
        "documentation": _nullable("string"),
        "instructions": _nullable("string", description="instructions filled in with the case data"),
        "form_schema": _nullable("object", description="the task's form as a JSON Schema (2020-12)"),
        "data": {"type": "object", "description": "the case data the task sees"},
    }),
    "Case": _object(CASE_PROPERTIES),
    "TimelineRow": _object({
        "at": TIME, "type": {"type": "string"}, "label": {"type": "string"}, "actor": _nullable("string"),
        "element": _nullable("string"),
        "details": {"type": "array", "items": _object({"label": {"type": "string"}, "value": {"type": "string"}})},
    }),
    "CaseListEntry": _object({
        **CASE_PROPERTIES,
        "open_tasks": {"type": "array", "items": _ref("Task")},
        "due_at": _nullable("string", format="date-time", description="the nearest time limit of its open tasks"),
        "waiting_messages": {"type": "array", "items": _ref("WaitingMessage")},
    }),
    "CaseList": _object({"cases": {"type": "array", "items": _ref("CaseListEntry")},
                         "page": {"type": "integer"}, "next_page": _nullable("integer")}),
    "WaitingMessage": _object({"message": {"type": "string"}, "label": {"type": "string"},
                               "element_id": {"type": "string"}}),
    "CaseDetail": _object({
        **CASE_PROPERTIES,
        "tasks": {"type": "array", "items": _ref("Task"), "description": "open tasks"},
        "waiting_messages": {"type": "array", "items": _ref("WaitingMessage"),
                             "description": "messages the case waits for, to send with POST .../messages/{name}"},
        "timeline": {"type": "array", "items": _ref("TimelineRow")},
    }),
    "StepResult": _object({
        "case": _ref("Case"),
        "open_tasks": {"type": "array", "items": _ref("Task")},
        "next_task_id": _nullable("string", description="the first open task the caller can do now"),
    }),
    "Comment": _object({"case": {"type": "string", "description": "the case's reference number"},
                        "at": TIME, "actor": {"type": "string"}, "text": {"type": "string"}}),
    "Reassignment": {
        "type": "object", "required": ["to"],
        "properties": {"to": {"type": "string", "minLength": 1, "description": "the username of who takes the task"},
                       "reason": {"type": "string", "maxLength": 500, "description": "why, kept in the audit trail"}},
    },
    "Completion": {
        "type": "object",
        "properties": {
            "data": {"type": "object", "description": "the form's fields; fields it does not declare are dropped"},
            "expected_version": {"type": "integer", "minimum": 0,
                                 "description": "the task's `version` when it was read; stale → 409"},
        },
    },
}

ERRORS = {
    400: "malformed request: body not a JSON object, bad If-Match, or a session write without X-CSRFToken",
    401: "no token, or an unknown or revoked one",
    403: "the caller's roles do not allow this",
    404: "no such task or case (or not one a resident opened)",
    409: "the task or case is not in a state for this (already done, claimed by another, stale version), "
         "or the first request with this Idempotency-Key is not answered yet",
    422: "invalid data; `fields` names each invalid field; or an Idempotency-Key first sent with another request",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "send a retry with the key of the first try: it gets the first answer again (with "
                   "`Idempotent-Replayed: true`) instead of doing the work twice; keys are per caller, kept 24 hours",
    "schema": {"type": "string", "pattern": KEY_PATTERN},
}


def _responses(ok: int, schema: str, errors: tuple[int, ...], headers: dict | None = None) -> dict:
    responses = {str(ok): {"description": "done", "content": {JSON: {"schema": _ref(schema)}}}}
    if headers:
        responses[str(ok)]["headers"] = headers
    for status in errors:
        responses[str(status)] = {"description": ERRORS[status], "content": {JSON: {"schema": _ref("Error")}}}
    return responses


def _path_param(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", **schema}}


def _query(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string", **schema}}


# The case list's search form sends its empty fields too.
OPTIONAL_DAY = [{"format": "date"}, {"maxLength": 0}]
TASK_ID = _path_param("task_id", "the task's id", format="uuid")
CASE_REF = _path_param("ref", "the case's reference number (JJ-20261123-0001) or numeric id")
WRITE_ERRORS = (400, 401, 403, 404, 409)


def document(starts: dict[str, dict], triage: str | None) -> dict:
    """The whole document, with each online procedure's start form as its body."""
    intake = starts.get(triage) or {"type": "object"}
    # One body per online procedure: its id, and its start form under "data".
    new_cases = {f"NewCase_{pid}": {"type": "object", "additionalProperties": False,
                                    "required": ["process", "data"] if schema.get("required") else ["process"],
                                    "properties": {"process": {"type": "string", "const": pid},
                                                   "data": _ref(f"StartForm_{pid}")}}
                 for pid, schema in starts.items()}
    return _with_idempotency_keys({
        "openapi": "3.1.0",
        "info": {
            "title": "EstateDesk API", "version": "1",
            "description": "Open requests for help, work on tasks and follow cases, as in the web app. "
                           "Authenticate with `Authorization: Bearer <token>` (`estatedesk token create USER`); "
                           "the token carries that user's roles. Errors are JSON: `{\"error\": ...}`, "
                           "plus `fields` for invalid data.",
        },
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {**SCHEMAS, "Intake": intake, "NewComment": comments.SCHEMA, **new_cases,
                        **{f"StartForm_{pid}": schema for pid, schema in starts.items()}},
        },
        "paths": {
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "this document", "security": [],
                "responses": {"200": {"description": "the OpenAPI document",
                                      "content": {JSON: {"schema": {"type": "object"}}}}},
            }},
            "/api/v1/me": {"get": {
                "operationId": "me", "summary": "who the token acts as", "responses": _responses(200, "Me", (401,)),
            }},
            "/api/v1/cases": {"get": {
                "operationId": "listCases", "summary": "my site's cases, newest first, a page at a time",
                "parameters": [
                    _query("q", "matches the reference, unit (3-2-1201 or 3栋2单元1201), phone or caller"),
                    _query("process", "only this procedure's cases"),
                    _query("status", "running (default, also when empty), completed, cancelled, error, or all",
                           enum=[*CASE_STATUSES, "all", ""]),
                    _query("from", "opened on or after this local day (empty: any)", anyOf=OPTIONAL_DAY),
                    _query("to", "opened on or before this local day (empty: any)", anyOf=OPTIONAL_DAY),
                    _query("scope", "site (default, also when empty): the whole site; mine: opened by me or held by me",
                           enum=[*CASE_SCOPES, ""]),
                    _query("page", "page number, from 1", type="integer", minimum=1, maximum=MAX_PAGE),
                ],
                "responses": _responses(200, "CaseList", (401, 403, 422)),
            }, "post": {
                "operationId": "openCase", "summary": "open a request for help and start its procedure",
                "requestBody": {"required": True, "content": {JSON: {"schema": {
                    "oneOf": [_ref("Intake"), *(_ref(name) for name in new_cases)]}}}},
                "responses": _responses(201, "StepResult", (400, 401, 403, 422), headers={
                    "Location": {"description": "the new case", "required": True, "schema": {"type": "string"}}}),
            }},
            "/api/v1/cases/{ref}": {"get": {
                "operationId": "showCase", "summary": "a case: summary, open tasks, awaited messages, timeline",
                "parameters": [CASE_REF], "responses": _responses(200, "CaseDetail", (401, 403, 404)),
            }},
            "/api/v1/cases/{ref}/messages/{name}": {"post": {
                "operationId": "sendMessage", "summary": "deliver a message the case waits for",
                "parameters": [CASE_REF, _path_param("name", "the message, e.g. ambulance_arrived")],
                "responses": _responses(200, "StepResult", WRITE_ERRORS),
            }},
            "/api/v1/cases/{ref}/comments": {"post": {
                "operationId": "addComment",
                "summary": "add a comment to the case's record (staff, or the resident who opened it)",
                "parameters": [CASE_REF],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("NewComment")}}},
                "responses": _responses(201, "Comment", (400, 401, 403, 404, 422)),
            }},
            "/api/v1/duty/calls": {"post": {
                "operationId": "callAnswered",
                "summary": "the phone system's call_answered event: on the duty log of the shift on duty now",
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("CallAnswered")}}},
                "responses": _responses(201, "CallRecorded", WRITE_ERRORS + (422,)),
            }},
            "/api/v1/tasks": {"get": {
                "operationId": "listTasks", "summary": "my tasks, then my roles' open tasks",
                "parameters": [
                    _query("scope", "inbox (default): both; mine: held by me; roles: open tasks of my roles",
                           enum=list(SCOPES)),
                    _query("role", "only this role's tasks (one the caller holds)"),
                    _query("status", "only ready or only claimed tasks", enum=list(STATUSES)),
                    _query("case", "only this case's tasks (reference or id)"),
                ],
                "responses": _responses(200, "TaskList", (401, 403, 404, 422)),
            }},
            "/api/v1/tasks/{task_id}": {"get": {
                "operationId": "showTask", "summary": "a task with its form (JSON Schema), instructions, clause, due time",
                "parameters": [TASK_ID], "responses": _responses(200, "TaskDetail", (401, 403, 404), headers={
                    "ETag": {"description": "the case version, for If-Match", "required": True,
                             "schema": {"type": "string"}}}),
            }},
            "/api/v1/tasks/{task_id}/claim": {"post": {
                "operationId": "claimTask", "summary": "take a ready task so nobody else works on it",
                "parameters": [TASK_ID], "responses": _responses(200, "Task", WRITE_ERRORS),
            }},
            "/api/v1/tasks/{task_id}/unclaim": {"post": {
                "operationId": "unclaimTask", "summary": "give a claimed task back to its role",
                "parameters": [TASK_ID], "responses": _responses(200, "Task", WRITE_ERRORS),
            }},
            "/api/v1/tasks/{task_id}/reassign": {"post": {
                "operationId": "reassignTask",
                "summary": "a supervisor gives an open task to someone holding its role",
                "parameters": [TASK_ID],
                "requestBody": {"required": True, "content": {JSON: {"schema": _ref("Reassignment")}}},
                "responses": _responses(200, "Task", WRITE_ERRORS + (422,)),
            }},
            "/api/v1/tasks/{task_id}/complete": {"post": {
                "operationId": "completeTask", "summary": "complete a task with its form data",
                "parameters": [TASK_ID, {
                    "name": "If-Match", "in": "header", "required": False,
                    "description": "the ETag of GET /api/v1/tasks/{task_id}; stale → 409",
                    "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,18}"?$'}}],
                "requestBody": {"required": False, "content": {JSON: {"schema": _ref("Completion")}}},
                "responses": _responses(200, "StepResult", WRITE_ERRORS + (422,)),
            }},
        },
    })


def _with_idempotency_keys(doc: dict) -> dict:
    """Every POST takes an Idempotency-Key, and so may answer 409 (busy) and 422 (another request)."""
    for operations in doc["paths"].values():
        post = operations.get("post")
        if post is None:
            continue
        post["parameters"] = [*post.get("parameters", []), IDEMPOTENCY_KEY]
        for status in (409, 422):
            post["responses"].setdefault(str(status), {"description": ERRORS[status],
                                                       "content": {JSON: {"schema": _ref("Error")}}})
    return doc


@bp.route("/openapi.json")
def openapi():
    with reading() as session:
        starts = api_start_schemas(session)
        triage = triage_of(session)
    return jsonify(document(starts, triage))
