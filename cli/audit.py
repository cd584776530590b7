"""The audit trail and what is folded from it: `audit verify`, `audit checkpoint`,
`audit lock-down` and `stats rebuild`."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import EXIT_FINDINGS, EXIT_OK, Env, group, pass_env
from engine import clock
from engine.audit.anchors import checkpoint_and_export, read_checkpoint_file
from engine.audit.chain import verify_chain
from engine.audit.lockdown import lock_down
from engine.errors import BadInput
from engine.stats import rebuild as rebuild_facts

_FILE = click.Path(dir_okay=False, path_type=Path)


@group()
def audit() -> None:
    """Audit trail commands."""


@audit.command()
@click.option("--checkpoints", "checkpoint_file", type=_FILE,
              help="also check against the checkpoints exported to this file")
@pass_env
def verify(env: Env, checkpoint_file: Path | None) -> int:
    """Check every chain, seal, head and checkpoint; exit 1 naming the first break."""
    exported = None
    if checkpoint_file is not None:
        if not checkpoint_file.is_file():
            raise BadInput(f"{checkpoint_file}: no such checkpoint file")
        exported = read_checkpoint_file(checkpoint_file)
    with env.db.read_session() as session:  # reads only: it need not wait for a step in progress
        result = verify_chain(session, checkpoint_file=exported)
    click.echo(str(result))
    return EXIT_OK if result.ok else EXIT_FINDINGS


@audit.command()
@click.option("--out", "out", type=_FILE, help="append the checkpoints this file lacks to it")
@pass_env
def checkpoint(env: Env, out: Path | None) -> None:
    """Seal the heads that moved since the last checkpoint; with --out, export the checkpoints."""
    done = checkpoint_and_export(env.db, clock.SystemClock().now(), out)
    click.echo(f"checkpoint {done.made[0]}: {done.made[1]} chains anchored" if done.made
               else "no chain moved since the last checkpoint")
    if out is not None:
        click.echo(f"{done.exported} checkpoints written to {out}")


@audit.command("lock-down")
@click.option("--role", required=True, help="the PostgreSQL role the app connects as")
@pass_env
def lock_down_command(env: Env, role: str) -> None:
    """Make the event log append-only for ROLE (PostgreSQL): no UPDATE, DELETE or TRUNCATE."""
    if not env.db.is_postgres:
        raise BadInput("audit lock-down needs PostgreSQL: SQLite has no roles")
    with env.db.engine.begin() as conn:
        for statement in lock_down(conn, role):
            click.echo(statement)


@group()
def stats() -> None:
    """Monthly statistics."""


@stats.command()
@pass_env
def rebuild(env: Env) -> None:
    """Recompute the case facts from the whole audit trail."""
    with env.db.session() as session, session.begin():
        count = rebuild_facts(session.connection())
    click.echo(f"case facts rebuilt from the audit trail: {count} cases")


COMMANDS = [audit, stats]
