"""The duty roster from the command line: `roster export` and `roster import` (CSV or Excel)."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import Env, actor_option, group, pass_env
from engine.duty import roster as rosters
from engine.duty.roster_files import assignments_from_rows, read_table
from engine.runtime.step import Runtime
from web.duty_files import roster_file


@group()
def roster() -> None:
    """The duty roster 《住户服务中心值班安排表》 (004 4.1.1)."""


@roster.command("export")
@click.option("--month", required=True, metavar="MONTH", help="the month, e.g. 2027-01")
@click.option("--site", required=True, metavar="SITE", help="the site")
@click.option("--out", metavar="FILE", help="write to FILE (.csv or .xlsx); default: CSV on standard output")
@pass_env
def export_roster(env: Env, month: str, site: str, out: str | None) -> None:
    """Write one site's roster of a month: date, site, post, username, name."""
    with env.db.read_session() as session:
        view = rosters.roster_view(session, site, month)
    if out:
        Path(out).write_bytes(roster_file(view, out))
        click.echo(f"{out}: {view.filled} of {view.slots} shifts filled ({view.status})", err=True)
    else:
        click.echo(roster_file(view, "roster.csv").decode("utf-8-sig"), nl=False)


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--publish", is_flag=True, help="publish each roster after saving it")
@actor_option()
@pass_env
def import_roster(env: Env, file: str, publish: bool, actor: str) -> None:
    """Save the draft rosters in FILE (the columns `roster export` writes), one per site and month."""
    runtime = Runtime(env.db)
    found = assignments_from_rows(read_table(Path(file).read_bytes(), file))
    for (site, month), assignments in sorted(found.items()):
        view = rosters.save_roster(runtime, site, month, assignments, actor)
        if publish:
            view = rosters.publish_roster(runtime, site, month, actor)
        click.echo(f"{site} {month}: {view.filled} of {view.slots} shifts filled ({view.status})")


COMMANDS = [roster]
