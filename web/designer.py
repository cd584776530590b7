"""Process designers: versions of each process, and the browser modeler's server side
(open a version or draft, check it, save a draft, deploy it as a new version)."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from engine.accounts import sites
from engine.accounts.staff import apply_staff
from engine.definitions.catalogue import procedures
from engine.definitions.designs import (
    cases_on_older_versions,
    check_design,
    deploy_design,
    diff_versions,
    get_draft,
    get_version,
    list_versions,
    save_draft,
)
from engine.definitions.library import Bundle, read_bundle, write_diagram
from engine.errors import BadInput, ConflictError, NotFound
from engine.runtime.queries import get_instance_row
from web.auth import roles_required
from web.diagrams import VIEWER
from web.i18n import current_language, pick
from web.runtime import reading, runtime
from web.security import DOWNLOAD_POLICY

bp = Blueprint("designer", __name__)
DESIGN_ROLES = ("designer",)
VERSION_READERS = ("designer", "auditor", "manager")
MIGRATE_ROLES = ("designer", "manager")
MODELER = "vendor/bpmn-js/bpmn-modeler.production.min.js"


def library() -> Bundle:
    """The process library on disk: its rules, forms and other diagrams are the context of an edit."""
    return read_bundle(Path(current_app.config["PROCESSES_DIR"]), Path(current_app.config["FORMS_DIR"]))


@bp.route("/processes")
@roles_required(*VERSION_READERS)
def processes():
    with reading() as session:
        versions = list_versions(session)
    latest = {}
    for version in versions:  # newest first within each process
        latest.setdefault(version.process_id, (version, sum(v.process_id == version.process_id for v in versions)))
    return render_template("processes.html", processes=list(latest.values()))


@bp.route("/processes/<process_id>/versions")
@roles_required(*VERSION_READERS)
def versions(process_id: str):
    with reading() as session:
        found = list_versions(session, process_id)
        latest = get_version(session, process_id)  # 404 for an unknown process
        running = (cases_on_older_versions(session, process_id, latest.version, sites.sites_of(g.actor))
                   if latest.executable else [])
    return render_template("versions.html", process_id=process_id, versions=found, running=running,
                           latest=latest.version)


@bp.route("/processes/<process_id>/migrate", methods=("POST",))
@roles_required(*MIGRATE_ROLES)
def migrate(process_id: str):
    """Move the selected running cases to a newer version; each one only if it is safe."""
    to_version = request.form.get("to_version", type=int)
    if not to_version:
        raise BadInput(_("请选择目标版本"))
    references = request.form.getlist("cases")
    with reading() as session:
        for reference in references:  # a case of another site (or none) is refused before any moves
            get_instance_row(session, reference, viewer=g.actor)
    for reference in references:
        try:
            runtime().migrate_instance(reference, to_version, g.actor.username)
            flash(_("%(reference)s: 已迁移到 v%(version)s", reference=reference, version=to_version))
        except (BadInput, NotFound, ConflictError) as exc:
            flash(f"{reference}: {exc}")
    return redirect(url_for("designer.versions", process_id=process_id))


@bp.route("/processes/<process_id>/versions/<int:number>.bpmn")
@roles_required(*VERSION_READERS)
def version_xml(process_id: str, number: int):
    with reading() as session:
        version = get_version(session, process_id, number)
        xml, name = version.bpmn_xml, version.bpmn_file
    # A download, never a page: whatever a stored version holds, it is not rendered in the app's origin.
    response = Response(xml, mimetype="application/xml",
                        headers={"Content-Security-Policy": DOWNLOAD_POLICY})
    response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


@bp.route("/processes/<process_id>/diff")
@roles_required(*VERSION_READERS)
def diff(process_id: str):
    """Two versions side by side: added and changed elements on the newer, removed on the older."""
    old, new = request.args.get("from", type=int), request.args.get("to", type=int)
    if not old or not new:
        raise BadInput("choose two versions: ?from=1&to=2")
    with reading() as session:
        changes = diff_versions(session, process_id, old, new)
        xml = {n: get_version(session, process_id, n).bpmn_xml for n in (old, new)}
    installed = (Path(current_app.static_folder) / VIEWER).is_file()
    return render_template("version_diff.html", process_id=process_id, old=old, new=new, changes=changes,
                           viewer=VIEWER, viewer_installed=installed,
                           config={"old": xml[old], "new": xml[new], "added": changes.added,
                                   "removed": changes.removed, "changed": changes.changed})


@bp.route("/processes/<process_id>/edit")
@roles_required(*DESIGN_ROLES)
def edit(process_id: str):
    """The modeler, on the asked-for version, else on my draft, else on the latest version."""
    number = request.args.get("version", type=int)
    with reading() as session:
        version = get_version(session, process_id, number)
        draft = None if number else get_draft(session, process_id, g.actor.username)
        xml = draft.bpmn_xml if draft else version.bpmn_xml
        base = draft.base_version if draft else version.version
        name = _process_name(session, process_id, version)
    installed = (Path(current_app.static_folder) / MODELER).is_file()
    return render_template("modeler.html", process_id=process_id, process_name=name,
                           base_version=base, from_draft=draft is not None,
                           xml=xml, modeler=MODELER, modeler_installed=installed,
                           urls={"check": url_for("designer.check", process_id=process_id),
                                 "draft": url_for("designer.draft", process_id=process_id),
                                 "deploy": url_for("designer.deploy", process_id=process_id),
                                 "versions": url_for("designer.versions", process_id=process_id)})


def _process_name(session, process_id: str, version) -> str:
    """What the designer calls the process: its name in the reader's language, else its id."""
    found = procedures(session).get(process_id)
    return (pick(found.name, found.name_en) if found else version.name) or process_id


@bp.route("/processes/<process_id>/check", methods=("POST",))
@roles_required(*DESIGN_ROLES)
def check(process_id: str):
    """Lint findings for the diagram being edited, with element ids for the modeler to mark."""
    with reading() as session:
        bpmn_file = get_version(session, process_id).bpmn_file
    findings = check_design(library(), bpmn_file, _posted_xml())
    return jsonify({"findings": [{"line": f.line, "element_id": f.element_id, "severity": f.severity,
                                  "message": finding_words(f), "detail": f"{f.file}:{f.line or 0}: {f.message}"}
                                 for f in findings]})


def finding_words(finding) -> str:
    """A lint finding in the reader's language; one the linter has no Chinese for says so in
    Chinese, its technical English being in the detail."""
    if current_language() == "en":
        return finding.message
    return finding.zh or _("%(file)s 有需要修改的地方（技术说明见提示）", file=finding.file)


@bp.route("/processes/<process_id>/draft", methods=("POST",))
@roles_required(*DESIGN_ROLES)
def draft(process_id: str):
    body = request.get_json(silent=True) or {}
    with runtime().transaction() as session:
        get_version(session, process_id)
        saved = save_draft(session, process_id, g.actor.username, _posted_xml(), body.get("base_version"))
        at = saved.updated_at.isoformat()
    return jsonify({"saved_at": at})


@bp.route("/processes/<process_id>/deploy", methods=("POST",))
@roles_required(*DESIGN_ROLES)
def deploy(process_id: str):
    """Deploy the edited diagram and write it into the library folder, so the repository and the
    database agree; a runnable deploy also applies the library's staff.yaml, as `estatedesk deploy` does."""
    body = request.get_json(silent=True) or {}
    bundle, xml = library(), _posted_xml()
    with runtime().transaction() as session:
        results = deploy_design(session, bundle, process_id, xml, g.actor.username, str(body.get("note") or ""))
        staff = apply_staff(session, bundle, g.actor.username) if any(r.runnable for r in results) else []
        shown = [{"process_id": r.process_id, "version": r.version, "created": r.created, "runnable": r.runnable,
                  "findings": [str(f) for f in r.findings]} for r in results]
    reply = {"results": shown, "staff": [{"type": c.type, "username": c.username, **c.data} for c in staff]}
    if any(r.runnable and r.created for r in results):
        # After the commit: a file written for a deploy that then failed would disagree with the
        # database; a file that could not be written is named by `estatedesk lint` until it is.
        try:
            reply["written"] = str(write_diagram(Path(current_app.config["PROCESSES_DIR"]), results[0].file, xml))
        except OSError as exc:
            reply["write_error"] = f"{exc.strerror or exc}: {exc.filename or results[0].file}"
    return jsonify(reply)


def _posted_xml() -> str:
    body = request.get_json(silent=True)
    xml = body.get("xml") if isinstance(body, dict) else None
    if not isinstance(xml, str) or not xml.strip():
        raise BadInput("send the diagram as JSON: {\"xml\": \"<bpmn:definitions …>\"}")
    return xml
