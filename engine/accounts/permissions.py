"""Who may start a procedure, see, work on, claim, release and reassign a task, and cancel a case.

The one home of these rules: the runtime enforces them inside the step, and the web app
and the API ask the same functions before they show a form or a button. Each `check_*`
raises `PermissionDenied` (the person may never do it) or `TaskNotReady` (the task is
not in a state where anyone could); `may_*` answers the same question with a bool.
"""

from __future__ import annotations

from engine.accounts.users import DEPARTMENT_HEAD_ROLES, REQUESTER_ROLES, SUPERVISOR_ROLES, Actor
from engine.definitions.rules import Rules
from engine.errors import BadInput, PermissionDenied, TaskNotReady
from engine.store.models import OPEN_TASK_STATUSES, TaskStatus

AUDITOR_ROLE = "auditor"


def may_see_task(actor: Actor, task, rules: Rules | None = None) -> bool:
    """People of the task's role, its holder, supervisors, auditors, and the head of the task's
    department (`rules` names the departments)."""
    return (task.role in actor.roles or task.assignee == actor.username
            or bool(actor.roles & (SUPERVISOR_ROLES | {AUDITOR_ROLE})) or task.role in team_roles(actor, rules))


def check_may_see_task(actor: Actor, task, rules: Rules | None = None) -> None:
    if not may_see_task(actor, task, rules):
        raise PermissionDenied(f"{actor.username} does not hold role {task.role!r} needed for this task")


def check_may_work_on(actor: Actor, task) -> None:
    """Complete the task: it is open, and ready for one of my roles or claimed by me."""
    if task.role not in actor.roles and task.assignee != actor.username:
        raise PermissionDenied(f"{actor.username} does not hold role {task.role!r} needed for this task")
    if task.status not in OPEN_TASK_STATUSES:
        raise TaskNotReady(not_ready_message(task))
    if task.status == TaskStatus.CLAIMED and task.assignee != actor.username:
        raise TaskNotReady(f"task is claimed by {task.assignee}")


def check_case_is_theirs(actor: Actor, started_by: str | None) -> None:
    """A resident (someone holding only requester roles) acts only on the requests they opened, so
    a resident's task in another household's case is never theirs to sign (001/第8篇 4.1 6))."""
    if actor.roles and actor.roles <= set(REQUESTER_ROLES) and started_by != actor.username:
        raise PermissionDenied(f"{actor.username} may act only on the requests they opened")


def may_do_now(actor: Actor, task) -> bool:
    """Whether the task is this person's to do next: claimed by them, or ready for their role."""
    return task.assignee == actor.username or (task.status == TaskStatus.READY and task.role in actor.roles)


def check_may_claim(actor: Actor, task) -> None:
    if task.status != TaskStatus.READY:
        raise TaskNotReady(not_ready_message(task))
    if task.role not in actor.roles:
        raise PermissionDenied(f"{actor.username} does not hold role {task.role!r} needed for this task")


def check_may_release(actor: Actor, task) -> None:
    """Give a claimed task back to its role: its holder or a supervisor."""
    if task.status != TaskStatus.CLAIMED:
        raise TaskNotReady("task is not claimed")
    if task.assignee != actor.username and not is_supervisor(actor):
        raise PermissionDenied(f"only {task.assignee} or a supervisor can release this task")


def check_may_reassign(actor: Actor, task, target: Actor, rules: Rules | None = None) -> None:
    """Supervisors give an open task to someone who holds its role; a department head only a task
    of their own department (`rules` names the departments)."""
    if not is_supervisor(actor) and task.role not in team_roles(actor, rules):
        raise PermissionDenied("only a supervisor, a manager or the head of the task's department can reassign it")
    if task.status not in OPEN_TASK_STATUSES:
        raise TaskNotReady(not_ready_message(task))
    if task.role not in target.roles:
        raise BadInput(f"{target.username} does not hold role {task.role!r}")


def team_roles(actor: Actor, rules: Rules | None) -> frozenset[str]:
    """The roles of a supervisor's team: their departments' and those their departments oversee
    (departments.yaml); nobody's for anyone else."""
    if rules is None or not may_reassign(actor):
        return frozenset()
    mine = [d for d in rules.departments.values() if actor.roles & set(d.roles)]
    overseen = [rules.departments[o] for d in mine for o in d.oversees if o in rules.departments]
    return frozenset(role for d in (*mine, *overseen) for role in d.roles)


def check_may_start(actor: Actor, process_id: str, start_roles) -> None:
    """Start a case of a procedure: a role its `start_roles` names (a process that names none
    is started through another procedure, or by the CLI of whoever runs the server)."""
    if start_roles and not actor.roles & set(start_roles):
        raise PermissionDenied(f"{actor.username} may not start {process_id}")


def check_may_cancel(actor: Actor, started_by: str | None) -> None:
    if not is_supervisor(actor) and started_by != actor.username:
        raise PermissionDenied("only a supervisor, a manager or the person who opened it can cancel a case")


def is_supervisor(actor: Actor) -> bool:
    return bool(actor.roles & SUPERVISOR_ROLES)


def may_reassign(actor: Actor) -> bool:
    """Whether the person reassigns any tasks at all: a supervisor, or a department head (their team's)."""
    return bool(actor.roles & (SUPERVISOR_ROLES | DEPARTMENT_HEAD_ROLES))


def not_ready_message(task) -> str:
    if task.status == TaskStatus.COMPLETED:
        return f"task {task.name} was already completed by {task.completed_by}"
    return f"task {task.name} is {TaskStatus(task.status).value}"
