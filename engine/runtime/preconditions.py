"""What a step checks before it acts: the version exists, the case runs at the version the
caller saw, the data is valid for the task's form and uses no reserved name."""

from __future__ import annotations

from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition, SignalEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.definitions.compiled import CompiledVersion
from engine.definitions.form_people import check_staff
from engine.definitions.forms import check_times, prepared_form_data, validate_form_data
from engine.definitions.task_kinds import all_tasks
from engine.errors import ConflictError, FieldError, FormInvalid, InstanceNotRunning, NotFound
from engine.policy.followup import DATA_NAME as FOLLOWUP_DATA
from engine.policy.moments import HELPERS as MOMENT_HELPERS
from engine.runtime.steprows import RowCopy
from engine.store.models import InstanceStatus, ProcessVersion

# Diagram helpers, which data must not shadow, and the follow-up decision, which only a draw may set.
RESERVED_NAMES = frozenset({"sla", "now", "price", "followup_decision", "category_process", "category_is_special",
                            "open_case", "case_reference", FOLLOWUP_DATA, *MOMENT_HELPERS})


def find_version(session: Session, process_id: str, version: int | None) -> ProcessVersion:
    stmt = select(ProcessVersion).where(ProcessVersion.process_id == process_id, ProcessVersion.executable.is_(True))
    stmt = stmt.where(ProcessVersion.version == version) if version else stmt.order_by(ProcessVersion.version.desc())
    found = session.scalars(stmt.limit(1)).first()
    if found is None:
        what = f"version {version} of process {process_id!r}" if version else f"process {process_id!r}"
        raise NotFound(f"{what} is not deployed")
    return found


def check_running(row: RowCopy, expected_version: int | None = None) -> None:
    if expected_version is not None and row.lock_version != expected_version:
        raise ConflictError(f"case {row.reference} was changed by someone else meanwhile; reload and try again")
    if row.status != InstanceStatus.RUNNING:
        raise InstanceNotRunning(f"case {row.reference} is {row.status.value}")




def sla_due_at(compiled: CompiledVersion, site: str | None):
    """What `check_times` asks for an `x-within-sla` promise: when target `key` opened now falls due at `site`."""
    now = clock.now()
    return lambda key: compiled.rules.sla_policy(key, site).due(now)


def validated_form_data(compiled: CompiledVersion, task_row: RowCopy, data: dict, signer: str | None = None,
                        site: str | None = None) -> dict:
    """Validate against the task's form and keep only the fields the form declares; `signer` (the
    submitting person's name) signs its signatures, and the staff it names must work at `site`."""
    schema = compiled.forms.get(task_row.form_id) if task_row.form_id else None
    if schema is None:
        if data:
            raise FormInvalid([FieldError("", "this task has no form; submit no data")])
        return {}
    data = prepared_form_data(schema, data, signer)
    validate_form_data(schema, data)
    check_times(schema, data, clock.now(), sla_due_at(compiled, site))
    check_staff(schema, data, site)
    declared = schema.get("properties", {})
    return {k: v for k, v in data.items() if k in declared and k not in RESERVED_NAMES}


def check_reserved(data: dict) -> None:
    clash = sorted(RESERVED_NAMES & set(data))
    if clash:
        raise FormInvalid([FieldError(name, "this name is reserved for diagram helpers and the follow-up draw") for name in clash])


def waiting_catcher(workflow, name: str):
    """The task waiting for the message or signal `name`, if any."""
    for task in all_tasks(workflow):
        definition = getattr(task.task_spec, "event_definition", None)
        # Only message and signal catchers take what is sent in; a timer bears its element's name too.
        if (task.state == TaskState.WAITING and isinstance(definition, (MessageEventDefinition, SignalEventDefinition))
                and definition.name == name):
            return task
    return None
