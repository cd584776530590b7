"""The catalogue of procedures: what the product knows of each, read from the bundle alone.

A procedure's process element declares its English name (`name_en`), who may start it
(`start_roles`), with which start form (`start_form`), its department (`department`) and
its reference prefix; `processes/rules/categories.yaml` says which triage category routes
to it, `departments.yaml` which roles work in which department. The intake pages, the API,
the triage and the statistics all ask this module, so a designer's new procedure is
startable, routable and counted with no code change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.definitions.compiled import VERSIONS, CompiledVersion
from engine.store.models import ProcessVersion


@dataclass(frozen=True)
class Procedure:
    process_id: str
    name: str
    name_en: str
    department: str | None
    start_roles: frozenset[str]
    start_form: str | None
    reference_prefix: str

    def may_be_started_by(self, roles) -> bool:
        return bool(self.start_roles & set(roles))


def procedure_of(compiled: CompiledVersion) -> Procedure:
    outline = compiled.outline
    name = outline.get("name") or compiled.process_id
    return Procedure(compiled.process_id, name, outline.get("name_en") or name, outline.get("department"),
                     frozenset(outline.get("start_roles") or ()), outline.get("start_form"),
                     compiled.reference_prefix)


def start_form_of(compiled: CompiledVersion) -> dict | None:
    """The JSON Schema a new case of this version is started with, if it declares one."""
    form_id = compiled.outline.get("start_form")
    return compiled.forms.get(form_id) if form_id else None


def procedures(session: Session) -> dict[str, Procedure]:
    """Every deployed procedure by process id, as its newest executable version declares it."""
    newest = (select(func.max(ProcessVersion.id)).where(ProcessVersion.executable.is_(True))
              .group_by(ProcessVersion.process_id))
    found = {}
    for version_id in session.scalars(newest):
        procedure = procedure_of(VERSIONS.get(session, version_id))
        found[procedure.process_id] = procedure
    return dict(sorted(found.items(), key=lambda item: item[1].name))


def startable_by(session: Session, roles) -> list[Procedure]:
    """The procedures a person holding `roles` may start, by name."""
    return [p for p in procedures(session).values() if p.may_be_started_by(roles)]
