"""How commands print what the engine hands back: times in the service centres' zone, step results."""

from __future__ import annotations

from datetime import datetime

import click

from engine.clock import LOCAL_TZ

MINUTES, SECONDS = "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"


def local_time(moment: datetime, fmt: str = MINUTES) -> str:
    """`moment` (stored in UTC) as the staff read it, in China Standard Time like the web app."""
    return moment.astimezone(LOCAL_TZ).strftime(fmt)


def print_step(result) -> None:
    """The case a step left behind: reference, status, lock version, any error, its next tasks."""
    view = result.instance
    click.echo(f"{view.reference} (id {view.id}) {view.status} lock_version={view.lock_version}")
    print_error(view)
    for task in result.open_tasks:
        click.echo(f"  next: {task.id}  {task.name} ({task.role})")


def print_error(view) -> None:
    """The element and line a case in error stopped at, if it is in error."""
    if view.error_message:
        click.echo(f"error at {view.error_element} line {view.error_line}: {view.error_message}")
