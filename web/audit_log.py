"""The audit log for auditors: search, export (CSV, JSON), chain verification, printable case record."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, g, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from sqlalchemy import select

from engine.accounts import sites
from engine.accounts.users import user_names
from engine.audit.chain import verify_chain
from engine.audit.search import AuditFilter, AuditRow, count_events, iter_events, search_events
from engine.definitions.catalogue import procedures
from engine.definitions.compiled import VERSIONS
from engine.errors import BadInput, NotFound
from engine.runtime.preconditions import find_version
from engine.runtime.queries import get_instance_row, instance_view, list_events
from engine.store.models import Event
from web.auth import AUDIT_ROLES, roles_required
from web.forms import LOCAL_TZ
from web.i18n import EVENT_TYPES, event_label, pick
from web.runtime import reading
from web.spreadsheet import csv_writer
from web.templating import localtime

bp = Blueprint("audit_log", __name__)
PAGE_SIZE = 200
FILTER_FIELDS = ("reference", "process_id", "site", "unit", "actor", "element_id", "type")
CSV_COLUMNS = ("id", "at", "reference", "process_id", "site", "unit", "type", "element_id", "element_name",
               "actor", "role", "data", "hash")
# The header row in the reader's language (the JSON export keeps the field names).
CSV_HEADERS = {"id": lazy_gettext("序号"), "at": lazy_gettext("时间"), "reference": lazy_gettext("案件编号"),
               "process_id": lazy_gettext("流程"), "site": lazy_gettext("服务中心"), "unit": lazy_gettext("单元"),
               "type": lazy_gettext("事件"), "element_id": lazy_gettext("环节编号"), "element_name": lazy_gettext("环节"),
               "actor": lazy_gettext("操作人"), "role": lazy_gettext("角色"), "data": lazy_gettext("数据"),
               "hash": lazy_gettext("哈希")}


@bp.route("/audit")
@roles_required(*AUDIT_ROLES)
def search():
    """Events matching the filters, newest first, a page at a time."""
    audit_filter = filter_from_args()
    page = max(request.args.get("page", 1, type=int), 1)
    with reading() as session:
        total = count_events(session, audit_filter)
        rows = search_events(session, audit_filter, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        names = process_names(session)
        labels = element_labels(session, rows)
    query = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("audit.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           query=query, types=[(t, event_label(t)) for t in EVENT_TYPES], process_names=names,
                           labels=labels)


def element_labels(session, rows: list[AuditRow]) -> dict[int, str]:
    """Each event's element, flow or process in words, from its case's version (never Flow_… ids)."""
    labels = {}
    for row in rows:
        if row.version_id is not None:
            label = VERSIONS.get(session, row.version_id).label_of(row.element_id)
            if label:
                labels[row.id] = label
    return labels


def process_names(session) -> dict[str, str]:
    """Each procedure's name in the reader's language, by its id."""
    return {pid: pick(p.name, p.name_en) for pid, p in procedures(session).items()}


def _process_id(text: str | None) -> str | None:
    """A procedure as the auditor writes it: its id, or its name in either language (急救病人)."""
    if not text:
        return None
    with reading() as session:
        found = procedures(session)
    return next((pid for pid, p in found.items() if text in (p.name, p.name_en)), text)


def _actors(text: str | None):
    """A person as the auditor writes them: their username, or their name (王敏)."""
    if not text:
        return None
    with reading() as session:
        named = {username for username, name in user_names(session).items() if name == text}
    return tuple(sorted(named | {text})) if named else text


def _element_ids(text: str | None):
    """A step as the auditor writes it: its id, or its name as the table shows it (any process's)."""
    if not text:
        return None
    versions = []
    with reading() as session:
        for process_id in procedures(session):
            try:
                versions.append(VERSIONS.get(session, find_version(session, process_id, None).id))
            except NotFound:  # kept as documentation only: nothing of it ever ran
                continue
    named = {element_id for compiled in versions for outline in compiled.processes.values()
             for element_id in (*outline["elements"], *outline.get("flows", {}))
             if compiled.label_of(element_id) == text}
    return tuple(sorted(named | {text})) if named else text


@bp.route("/audit/export.csv")
@roles_required(*AUDIT_ROLES)
def export_csv():
    audit_filter = filter_from_args()
    # The BOM lets Excel open the Chinese text as UTF-8.
    return Response(_streamed(audit_filter, _csv_lines), mimetype="text/csv",  # werkzeug adds "; charset=utf-8"
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})


@bp.route("/audit/export.json")
@roles_required(*AUDIT_ROLES)
def export_json():
    audit_filter = filter_from_args()
    return Response(_streamed(audit_filter, _json_lines), mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=audit.json"})


@bp.route("/audit/verify")
@roles_required(*AUDIT_ROLES)
def verify():
    """Walk the hash chain and name the first broken link, if any."""
    with reading() as session:
        result = verify_chain(session)
    return render_template("audit_verify.html", result=result)


@bp.route("/cases/<ref>/record")
@roles_required(*AUDIT_ROLES)
def case_record(ref: str):
    """One case's whole trail with every event's data and hash, laid out for printing."""
    with reading() as session:
        row = get_instance_row(session, ref, viewer=g.actor)
        case = instance_view(session, row)
        events = list_events(session, row.id)
        hashes = dict(session.execute(select(Event.id, Event.hash).where(Event.instance_id == row.id)).all())
        compiled = VERSIONS.get(session, row.version_id)  # names the case's steps and flows
    return render_template("case_record.html", case=case, events=events, hashes=hashes, compiled=compiled)


def filter_from_args() -> AuditFilter:
    """The search filters from the query string; dates are local days, `until` inclusive."""
    since, until = _day(request.args.get("since")), _day(request.args.get("until"))
    fields = {name: (request.args.get(name) or "").strip() or None for name in FILTER_FIELDS}
    if fields["site"]:
        sites.check_site(g.actor, fields["site"])
    fields["process_id"] = _process_id(fields["process_id"])
    fields["element_id"] = _element_ids(fields["element_id"])
    fields["actor"] = _actors(fields["actor"])
    return AuditFilter(
        since=datetime.combine(since, time(), LOCAL_TZ) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), LOCAL_TZ) if until else None,
        within_sites=sites.sites_of(g.actor), **fields,
    )


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(_("日期格式应为 YYYY-MM-DD") + f": {text}") from None


def _streamed(audit_filter: AuditFilter, render) -> Iterator[str]:
    # The session stays open while the response streams, so exports of any size use little memory.
    @stream_with_context
    def generate():
        with reading(stream=True) as session:
            yield from render(iter_events(session, audit_filter), session)
    return generate()


def _as_dict(row: AuditRow) -> dict:
    return {"id": row.id, "at": row.at.isoformat(), "reference": row.reference, "process_id": row.process_id,
            "site": row.site, "unit": row.unit, "type": row.type, "element_id": row.element_id,
            "element_name": row.element_name, "actor": row.actor, "role": row.role, "data": row.data,
            "hash": row.hash}


def _csv_lines(rows: Iterator[AuditRow], session) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([str(CSV_HEADERS[c]) for c in CSV_COLUMNS])
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        record = _as_dict(row)
        record["at"] = localtime(row.at, "%Y-%m-%d %H:%M:%S")
        record["data"] = json.dumps(row.data, ensure_ascii=False, sort_keys=True)
        record["element_name"] = element_labels(session, [row]).get(row.id) or row.element_name
        writer.writerow([record[c] for c in CSV_COLUMNS])
        yield buffer.getvalue()


def _json_lines(rows: Iterator[AuditRow], _session) -> Iterator[str]:
    yield "["
    for index, row in enumerate(rows):
        yield ("," if index else "") + "\n" + json.dumps(_as_dict(row), ensure_ascii=False)
    yield "\n]\n"

