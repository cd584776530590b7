"""What a process designer does between opening a diagram and deploying it.

Open the latest or any earlier version, check the edited XML against the library as
it stands (findings carry element ids, so the modeler can mark the shapes), keep a
draft, and deploy the result as a new version with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import clock
from engine.definitions.diagram_files import check_diagram_file
from engine.definitions.diagram_import import ImportResult, import_diagram
from engine.definitions.library import Bundle, check_bundle
from engine.errors import BadInput, Finding, NotFound
from engine.store.models import DiagramDraft, Instance, InstanceStatus, ProcessVersion


@dataclass(frozen=True)
class VersionInfo:
    process_id: str
    version: int
    name: str
    runnable: bool
    created_at: datetime
    created_by: str
    note: str
    findings: tuple[str, ...]


def list_versions(session: Session, process_id: str | None = None) -> list[VersionInfo]:
    """Every version (runnable and documentation) of one process, or of all, newest first."""
    query = select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version.desc())
    if process_id:
        query = query.where(ProcessVersion.process_id == process_id)
    return [VersionInfo(v.process_id, v.version, v.name, v.executable, v.created_at, v.created_by, v.note,
                        tuple((v.assets or {}).get("findings") or ()))
            for v in session.scalars(query)]


def cases_on_older_versions(session: Session, process_id: str, latest: int,
                            within_sites: frozenset[str] | None = None) -> list[tuple[str, int]]:
    """(reference, version) of running cases of `process_id` on a version before `latest`, at
    `within_sites` (engine/accounts/sites.py `sites_of`; None: every site)."""
    stmt = (select(Instance.reference, ProcessVersion.version)
            .join(ProcessVersion, ProcessVersion.id == Instance.version_id)
            .where(Instance.process_id == process_id, Instance.status == InstanceStatus.RUNNING,
                   ProcessVersion.version < latest))
    if within_sites is not None:
        stmt = stmt.where(Instance.site.in_(sorted(within_sites)))
    rows = session.execute(stmt.order_by(Instance.id))
    return [(reference, version) for reference, version in rows]


def get_version(session: Session, process_id: str, version: int | None = None) -> ProcessVersion:
    """A version by number, or the latest; `NotFound` when there is none."""
    query = select(ProcessVersion).where(ProcessVersion.process_id == process_id)
    query = query.where(ProcessVersion.version == version) if version else query.order_by(
        ProcessVersion.version.desc()).limit(1)
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"process {process_id!r} has no version {version or ''}".strip())
    return found


def check_design(library: Bundle, bpmn_file: str, xml: str) -> list[Finding]:
    """Lint an edited diagram as if it replaced `bpmn_file` in the library; nothing is written."""
    bundle = replace(library, bpmn={**library.bpmn, bpmn_file: xml.encode("utf-8")})
    checked = check_bundle(bundle, partial=True, lint_only={bpmn_file})
    return [f for f in checked.findings if f.file == f"processes/{bpmn_file}"]


def save_draft(session: Session, process_id: str, author: str, xml: str, base_version: int | None) -> DiagramDraft:
    if not xml.strip():
        raise BadInput("the draft is empty")
    check_diagram_file(get_version(session, process_id).bpmn_file, xml.encode("utf-8"))
    draft = session.scalar(select(DiagramDraft).where(DiagramDraft.process_id == process_id,
                                                      DiagramDraft.author == author))
    if draft is None:
        draft = DiagramDraft(process_id=process_id, author=author)
        session.add(draft)
    draft.bpmn_xml, draft.base_version, draft.updated_at = xml, base_version, clock.now()
    session.flush()
    return draft


def get_draft(session: Session, process_id: str, author: str) -> DiagramDraft | None:
    return session.scalar(select(DiagramDraft).where(DiagramDraft.process_id == process_id,
                                                     DiagramDraft.author == author))


def deploy_design(session: Session, library: Bundle, process_id: str, xml: str, author: str,
                  note: str) -> list[ImportResult]:
    """Deploy an edited diagram as a new version (or keep it as documentation) and drop the draft."""
    if not note.strip():
        raise BadInput("say what changed: a deployment needs a note")
    bpmn_file = get_version(session, process_id).bpmn_file
    results = import_diagram(session, library, bpmn_file, xml.encode("utf-8"), author, note)
    session.execute(delete(DiagramDraft).where(DiagramDraft.process_id == process_id,
                                               DiagramDraft.author == author))
    return results


@dataclass(frozen=True)
class VersionDiff:
    """What changed between two versions of a process, by element and flow id."""

    added: list[str]
    removed: list[str]
    changed: list[str]


def diff_versions(session: Session, process_id: str, old: int, new: int) -> VersionDiff:
    before = _shapes(get_version(session, process_id, old), process_id)
    after = _shapes(get_version(session, process_id, new), process_id)
    return VersionDiff(
        added=sorted(set(after) - set(before)),
        removed=sorted(set(before) - set(after)),
        changed=sorted(key for key in set(before) & set(after) if before[key] != after[key]),
    )


def _shapes(version: ProcessVersion, process_id: str) -> dict[str, dict]:
    """Elements and flows of the version's own process, without where they sit in the file."""
    outline = ((version.assets or {}).get("processes") or {}).get(process_id) or {}
    shapes = {eid: {k: v for k, v in element.items() if k != "line"}
              for eid, element in (outline.get("elements") or {}).items()}
    shapes.update(outline.get("flows") or {})
    return shapes
