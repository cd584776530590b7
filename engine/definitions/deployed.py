"""The deployed library beside the files: which version of each process new cases start on,
and which files of the library differ from it.

The repository and the database should agree: a deploy from the modeler writes its diagram
back into the library folder, and `estatedesk deploy` and `lint` name any file that still
differs (edited since, reverted, or a modeler deploy whose file could not be written).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.definitions.library import Bundle
from engine.definitions.lint import NS
from engine.definitions.xmlsafe import parse_xml
from engine.errors import DefinitionError, Finding
from engine.store.models import ProcessVersion


@dataclass(frozen=True)
class DeployedVersion:
    process_id: str
    version: int
    bpmn_file: str
    bpmn_xml: str
    created_by: str


def latest_runnable(session: Session) -> dict[str, DeployedVersion]:
    """process id → its newest runnable version, the one new cases start on."""
    newest = (select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("version"))
              .where(ProcessVersion.executable.is_(True)).group_by(ProcessVersion.process_id).subquery())
    rows = session.execute(
        select(ProcessVersion.process_id, ProcessVersion.version, ProcessVersion.bpmn_file,
               ProcessVersion.bpmn_xml, ProcessVersion.created_by)
        .join(newest, and_(newest.c.process_id == ProcessVersion.process_id,
                           newest.c.version == ProcessVersion.version)))
    return {row.process_id: DeployedVersion(*row) for row in rows}


def drift_findings(bundle: Bundle, deployed: dict[str, DeployedVersion],
                   files: Iterable[str] | None = None) -> list[Finding]:
    """A warning for each process of the library's `files` (default: all) whose diagram is not
    the one its latest runnable version holds; a process never deployed is no drift."""
    findings = []
    for name in sorted(bundle.bpmn if files is None else files):
        data = bundle.bpmn[name]
        try:
            tree = parse_xml(data, f"processes/{name}")
        except DefinitionError:
            continue  # lint reports why the file cannot be read
        text = data.decode("utf-8", errors="replace")
        for process in tree.getroot().iterfind(".//bpmn:process", NS):
            version = deployed.get(process.get("id"))
            if version is None or version.bpmn_xml == text:
                continue
            findings.append(Finding(
                f"processes/{name}", process.sourceline, version.process_id, "warning",
                f"differs from {version.process_id} v{version.version}, the version new cases start on (deployed "
                f"by {version.created_by}): deploy this file, or save /processes/{version.process_id}/versions/"
                f"{version.version}.bpmn over it to keep v{version.version}"))
    return findings
