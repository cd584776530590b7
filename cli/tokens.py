"""API tokens for integrations: `token create`, `token revoke`, `token list`."""

from __future__ import annotations

import click

from cli.context import Env, group, pass_env
from cli.output import local_time
from engine.accounts.tokens import create_token, list_tokens, revoke_token
from engine.runtime.step import Runtime


@group()
def token() -> None:
    """API tokens for integrations (sent as Authorization: Bearer ...)."""


@token.command()
@click.argument("user")
@click.option("--name", default="api", metavar="NAME", help="what uses the token, e.g. phone-system")
@pass_env
def create(env: Env, user: str, name: str) -> None:
    """Make a token acting as USER (whose roles it carries); print it once."""
    with Runtime(env.db).transaction() as session:
        made, secret = create_token(session, user, name)
    click.echo(secret)
    click.echo(f"token {made.id} for {made.username} ({made.name}); shown once, store it now", err=True)


@token.command()
@click.argument("token_id", metavar="ID", type=int)
@pass_env
def revoke(env: Env, token_id: int) -> None:
    """Stop a token from working; ID as `token list` shows it."""
    with Runtime(env.db).transaction() as session:
        revoked = revoke_token(session, token_id)
    click.echo(f"token {revoked.id} of {revoked.username} revoked")


@token.command("list")
@pass_env
def list_(env: Env) -> None:
    """List tokens (never their secrets)."""
    with env.db.read_session() as session:
        found = list_tokens(session)
    for t in found:
        state = f"revoked {local_time(t.revoked_at)}" if t.revoked_at else "active"
        click.echo(f"{t.id}  {t.username}  {t.name}  created {local_time(t.created_at)}  {state}")


COMMANDS = [token]
