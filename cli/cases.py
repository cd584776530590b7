"""Working on cases: `start`, `tasks`, `complete`, `claim`, `send`, `cancel`, `retry`, `comment`, `show`.

Commands that only read (`tasks`, `show`) use read-only sessions: on SQLite they take no
write lock, so they answer while a step or the worker is writing.
"""

from __future__ import annotations

import json

import click

from cli.context import Env, actor_option, command, data_option, pass_env
from cli.output import SECONDS, local_time, print_error, print_step
from engine.accounts.users import load_actor
from engine.audit.chain import executed_path
from engine.runtime.queries import get_instance_row, instance_view, list_events, list_tasks
from engine.runtime.step import Runtime


@command()
@click.argument("process")
@data_option("initial case data as a JSON object")
@click.option("--version", type=int, metavar="N", help="a deployed version (default: latest)")
@actor_option()
@pass_env
def start(env: Env, process: str, data: dict, version: int | None, actor: str) -> None:
    """Start a case."""
    print_step(Runtime(env.db).start_instance(process, data, actor, version))


@command()
@click.option("--role", metavar="ROLE")
@click.option("--instance", metavar="REF", help="case id or reference")
@actor_option(required=False)
@pass_env
def tasks(env: Env, role: str | None, instance: str | None, actor: str | None) -> None:
    """List open tasks."""
    with env.db.read_session() as session:
        roles = [role] if role else None
        if actor and not role:
            roles = sorted(load_actor(session, actor).roles)
        instance_id = get_instance_row(session, instance).id if instance else None
        found = list_tasks(session, roles=roles, instance_id=instance_id)
    for task in found:
        holder = f" [{task.assignee}]" if task.assignee else ""
        due = f" due {local_time(task.due_at)}" if task.due_at else ""
        click.echo(f"{task.id}  {task.reference}  {task.role}  {task.name}{holder}{due}")


@command()
@click.argument("task")
@data_option("form data as a JSON object")
@actor_option()
@pass_env
def complete(env: Env, task: str, data: dict, actor: str) -> None:
    """Complete a task with form data."""
    print_step(Runtime(env.db).complete_task(task, data, actor))


@command()
@click.argument("task")
@actor_option()
@pass_env
def claim(env: Env, task: str, actor: str) -> None:
    """Claim a task."""
    claimed = Runtime(env.db).claim_task(task, actor)
    click.echo(f"{claimed.id} claimed by {claimed.assignee}")


@command()
@click.argument("instance")
@click.argument("name")
@data_option("payload as a JSON object")
@actor_option(default="system")
@pass_env
def send(env: Env, instance: str, name: str, data: dict, actor: str) -> None:
    """Deliver a message or signal to a case.

    INSTANCE is a case id or reference; NAME a message or signal name, e.g. ambulance_arrived.
    """
    print_step(Runtime(env.db).send_message(instance, name, data, actor))


@command()
@click.argument("instance")
@click.option("--reason", required=True, metavar="REASON")
@actor_option()
@pass_env
def cancel(env: Env, instance: str, reason: str, actor: str) -> None:
    """Cancel a case with a reason."""
    print_step(Runtime(env.db).cancel_instance(instance, reason, actor))


@command()
@click.argument("instance")
@data_option("corrected data as a JSON object")
@actor_option()
@pass_env
def retry(env: Env, instance: str, data: dict, actor: str) -> None:
    """Retry a case in error after correcting its data."""
    print_step(Runtime(env.db).retry_instance(instance, data, actor))


@command()
@click.argument("instance")
@click.option("--text", required=True, metavar="TEXT")
@actor_option()
@pass_env
def comment(env: Env, instance: str, text: str, actor: str) -> None:
    """Add a comment (备注) to a case's record.

    INSTANCE is a case id or reference.
    """
    added = Runtime(env.db).add_comment(instance, {"text": text}, actor)
    click.echo(f"{added.reference}: comment by {added.actor} at {local_time(added.at, SECONDS)}")


@command()
@click.argument("instance")
@pass_env
def show(env: Env, instance: str) -> None:
    """Show a case: executed path and events.

    INSTANCE is a case id or reference.
    """
    with env.db.read_session() as session:
        row = get_instance_row(session, instance)
        view = instance_view(session, row)
        path = executed_path(session, row.id)
        events = list_events(session, row.id)
        open_tasks = list_tasks(session, instance_id=row.id)
    click.echo(f"{view.reference}  {view.process_name} v{view.version}  {view.status}  "
               f"site={view.site} unit={view.unit}")
    print_error(view)
    click.echo("executed: " + " → ".join(path.elements))
    click.echo("flows:    " + ", ".join(path.flows))
    for task in open_tasks:
        click.echo(f"open task {task.id}: {task.name} ({task.role}{', ' + task.assignee if task.assignee else ''})")
    for event in events:
        data = json.dumps(event.data, ensure_ascii=False, default=str) if event.data else ""
        click.echo(f"{local_time(event.at, SECONDS)}  {event.type:<18} {event.actor or '-':<12} "
                   f"{event.element_id or '-'}  {data}")


COMMANDS = [start, tasks, complete, claim, send, cancel, retry, comment, show]
