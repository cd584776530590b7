"""The case on its diagram (bpmn-js): what ran, what is open, what was late, and who did it."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, g, jsonify, render_template, request
from flask_babel import lazy_gettext

from engine.definitions.compiled import VERSIONS
from engine.runtime.case_diagram import CaseDiagram, case_diagram
from engine.runtime.queries import get_instance_row
from web.auth import READER_ROLES, roles_required
from web.i18n import event_label, pick
from web.runtime import now, reading
from web.templating import localtime
from web.timeline import labelled

bp = Blueprint("diagrams", __name__)
VIEWER = "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"


@bp.route("/cases/<ref>/diagram")
@roles_required(*READER_ROLES)
def case_diagram_page(ref: str):
    """The page; the picture itself comes from `case_diagram_json` so drilling down needs no reload."""
    with reading() as session:
        row = get_instance_row(session, ref, viewer=g.actor)
        reference, process_id = row.reference, VERSIONS.get(session, row.version_id).process_id
    viewer_installed = (Path(current_app.static_folder) / VIEWER).is_file()
    return render_template("case_diagram.html", reference=reference, process_id=process_id,
                           viewer=VIEWER, viewer_installed=viewer_installed)


@bp.route("/cases/<ref>/diagram.json")
@roles_required(*READER_ROLES)
def case_diagram_json(ref: str):
    """The picture of one diagram of the case (`?process=` a called process to drill down)."""
    with reading() as session:
        row = get_instance_row(session, ref, viewer=g.actor)
        picture = case_diagram(session, row, request.args.get("process") or None, now=now())
        compiled = VERSIONS.get(session, row.version_id)
    return jsonify(_as_json(picture, compiled))


def _as_json(picture: CaseDiagram, compiled) -> dict:
    roles = compiled.rules.roles
    process = compiled.processes[picture.process_id]
    history = {}
    for element_id, element in picture.history.items():
        schema = compiled.forms.get(process["elements"].get(element_id, {}).get("form") or "", {})
        history[element_id] = {
            "name": element.name, "clause": element.clause,
            "role": _role_label(roles, element.role),
            "events": [{
                "label": event_label(e["type"]), "type": e["type"], "at": localtime(e["at"], "%Y-%m-%d %H:%M:%S"),
                "actor": e.get("actor"), "role": _role_label(roles, e.get("role")),
                "details": labelled(schema, e.get("submitted") or {}) + _notes(e),
            } for e in element.events],
        }
    return {
        "reference": picture.reference, "process_id": picture.process_id,
        "process_name": process.get("name") or picture.process_id, "xml": picture.bpmn_xml,
        "completed": picture.completed, "flows": picture.flows, "current": picture.current,
        "cancelled": picture.cancelled, "failed": picture.failed, "breached": picture.breached,
        "called": picture.called, "history": history,
    }


def _role_label(roles, role_id: str | None) -> str | None:
    role = roles.get(role_id) if role_id else None
    return pick(role.zh, role.en) if role else role_id


NOTE_LABELS = {"message": lazy_gettext("错误信息"), "reason": lazy_gettext("说明"), "assignee": lazy_gettext("处理人")}


def _notes(event: dict) -> list[tuple[str, str]]:
    return [(str(label), str(event[key])) for key, label in NOTE_LABELS.items() if event.get(key)]
