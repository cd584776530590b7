"""Request bodies read as JSON, and engine views written as JSON."""

from __future__ import annotations

import json

from flask import g, request

from engine.definitions.form_people import staff_of_site
from engine.errors import BadInput, FieldError, FormInvalid
from engine.runtime.comments import Comment
from engine.runtime.views import InstanceView, StepResult, TaskView
from web.i18n import pick
from web.instructions import render_instructions
from web.tasks import next_task_for
from web.templating import is_overdue, seconds_left
from web.timeline import TimelineRow, WaitingMessage


def json_object(required: bool = True) -> dict:
    """The request body as a JSON object: 400 if it is not JSON, 422 if text in it is unusable."""
    if not request.get_data(cache=True):
        if required:
            raise BadInput("send a JSON object as the request body")
        return {}
    try:
        body = request.get_json(force=True, silent=True)
        problems = list(_bad_text(body, "")) if isinstance(body, dict) else []
    except RecursionError:
        raise BadInput("the request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise BadInput("the request body must be a JSON object")
    if problems:
        raise FormInvalid(problems)
    return body


def _bad_text(value, path: str):
    """Strings the database cannot store: NUL characters (PostgreSQL) and lone surrogates."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _bad_text(key, path)
            yield from _bad_text(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _bad_text(item, f"{path}.{index}" if path else str(index))
    elif isinstance(value, str) and ("\x00" in value or not _encodable(value)):
        yield FieldError(path, "text must not contain NUL characters or unpaired surrogates")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _time(moment):
    return moment.isoformat() if moment is not None else None


def case_json(case: InstanceView) -> dict:
    return {
        "id": case.id, "reference": case.reference, "process_id": case.process_id,
        "process_name": case.process_name, "process_version": case.version, "status": case.status,
        "site": case.site, "category": case.category, "category_label": pick(*case.category_label) if case.category_label else None,
        "unit": case.unit, "caller": case.caller, "phone": case.phone, "summary": case.summary,
        "started_by": case.started_by, "created_at": _time(case.created_at), "updated_at": _time(case.updated_at),
        "version": case.lock_version, "cancel_reason": case.cancel_reason,
    }


def comment_json(comment: Comment) -> dict:
    return {"case": comment.reference, "at": _time(comment.at), "actor": comment.actor, "text": comment.text}


def task_json(task: TaskView) -> dict:
    return {
        "id": task.id, "case_id": task.instance_id, "case": task.reference, "process_id": task.process_id,
        "element_id": task.element_id, "name": task.name, "role": task.role, "status": task.status,
        "assignee": task.assignee, "form_id": task.form_id, "created_at": _time(task.created_at),
        "due_at": _time(task.due_at), "overdue": is_overdue(task.due_at),
        "time_left_seconds": seconds_left(task.due_at), "version": task.lock_version,
    }


def task_detail_json(task: TaskView) -> dict:
    """A task with what is needed to do it: form, instructions, clause and the data it sees."""
    instructions, _failed = render_instructions(task.instructions, task.data)
    return {**task_json(task), "clause": task.clause, "documentation": task.documentation,
            "instructions": instructions, "data": _plain(task.data),
            # staff fields offer the case's site's people, as the task page does
            "form_schema": staff_of_site(task.form_schema, task.site) if task.form_schema else None}


def _plain(data: dict) -> dict:
    """Case data as JSON; a value a script left that JSON has no type for is shown as text."""
    return json.loads(json.dumps(data, default=str))


def step_json(result: StepResult) -> dict:
    """A step's outcome: the case, its open tasks and the next one the caller can do."""
    nxt = next_task_for(g.actor, result.open_tasks)
    return {"case": case_json(result.instance), "open_tasks": [task_json(t) for t in result.open_tasks],
            "next_task_id": nxt.id if nxt is not None else None}


def timeline_json(row: TimelineRow) -> dict:
    return {"at": _time(row.at), "type": row.type, "label": row.label, "actor": row.actor,
            "element": row.element, "details": [{"label": label, "value": value} for label, value in row.details]}


def waiting_json(message: WaitingMessage) -> dict:
    return {"message": message.message, "label": message.label, "element_id": message.element_id}
