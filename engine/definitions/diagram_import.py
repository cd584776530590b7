"""Bringing one diagram into the library: a designer's edit, or a file from another tool.

A diagram that passes lint against the library (its rules, forms and the processes
it calls) is deployed as a new runnable version. One that does not — a Camunda or
Signavio export with no lanes-as-roles, no forms, no SOP clauses — is kept as a
documentation version that stores the file and its findings, so it can be read and
fixed, and never runs. A file that is not a BPMN diagram at all (other XML, or not
well-formed XML) is refused and nothing of it is kept. Either way nothing crashes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import PurePath

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.audit import chain as audit
from engine.audit.events import EventType
from engine.definitions.diagram_files import check_diagram_file
from engine.definitions.library import Bundle, check_bundle, deploy_bundle
from engine.errors import BadInput, Finding
from engine.store.models import ProcessVersion


@dataclass(frozen=True)
class ImportResult:
    file: str
    process_id: str
    version: int
    created: bool
    runnable: bool
    findings: tuple[Finding, ...]


def import_diagram(session: Session, library: Bundle, filename: str, data: bytes, actor: str,
                   note: str = "") -> list[ImportResult]:
    """Deploy `data` (a .bpmn file) with the library, or keep it as documentation; in the caller's transaction.

    A file that is not BPMN at all is refused (engine/definitions/diagram_files.py).
    """
    name = PurePath(filename).name
    if not name.endswith(".bpmn"):
        raise BadInput(f"{filename}: only .bpmn files can be imported")
    check_diagram_file(name, data)
    bundle = replace(library, bpmn={**library.bpmn, name: data})
    checked = check_bundle(bundle, partial=True, lint_only={name})
    own = tuple(f for f in checked.findings if f.file == f"processes/{name}")
    outlines = {pid: o for pid, o in checked.outlines.items() if o.file == name}
    if outlines and not any(f.severity == "error" for f in own) and any(o.executable for o in outlines.values()):
        deployed = deploy_bundle(session, bundle, actor, note)
        return [ImportResult(name, r.process_id, r.version, r.created, True, own)
                for r in deployed if r.process_id in outlines]
    process_ids = list(outlines) or [PurePath(name).stem]
    return [_keep_as_documentation(session, name, data, pid, outlines.get(pid), own, actor, note)
            for pid in process_ids]


def _keep_as_documentation(session: Session, name: str, data: bytes, process_id: str, outline,
                           findings: tuple[Finding, ...], actor: str, note: str) -> ImportResult:
    content_hash = hashlib.sha256(b"documentation\0" + data).hexdigest()
    existing = session.scalar(select(ProcessVersion).where(
        ProcessVersion.process_id == process_id, ProcessVersion.content_hash == content_hash))
    if existing is not None:
        return ImportResult(name, process_id, existing.version, False, False, findings)
    number = (session.scalar(select(func.max(ProcessVersion.version)).where(
        ProcessVersion.process_id == process_id)) or 0) + 1
    session.add(ProcessVersion(
        process_id=process_id, version=number, name=(outline.name if outline else None) or process_id,
        content_hash=content_hash, bpmn_file=name, bpmn_xml=data.decode("utf-8", errors="replace"),
        spec_json="", executable=False, created_at=clock.now(), created_by=actor, note=note,
        assets={"findings": [str(f) for f in findings],
                "processes": {process_id: outline.to_dict()} if outline else {}},
    ))
    session.flush()
    audit.append_events(session, [audit.NewEvent(
        EventType.DEPLOYED, actor=actor, element_id=process_id,
        data={"version": number, "content_hash": content_hash, "note": note, "documentation": True,
              "findings": len(findings)})], clock.now())
    return ImportResult(name, process_id, number, True, False, findings)
