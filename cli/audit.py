"""The audit trail and what is folded from it: `audit verify` and `stats rebuild`."""

from __future__ import annotations

import click

from cli.context import EXIT_FINDINGS, EXIT_OK, Env, group, pass_env
from engine.audit.chain import verify_chain
from engine.stats import rebuild as rebuild_facts


@group()
def audit() -> None:
    """Audit trail commands."""


@audit.command()
@pass_env
def verify(env: Env) -> int:
    """Check the hash chain; exit 1 if broken."""
    with env.db.read_session() as session:  # reads only: it need not wait for a step in progress
        result = verify_chain(session)
    click.echo(str(result))
    return EXIT_OK if result.ok else EXIT_FINDINGS


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
