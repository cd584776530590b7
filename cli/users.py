"""Staff accounts: `user password` and `user list`.

The accounts themselves come from processes/rules/staff.yaml at each deploy; a person
added there has no password until an administrator sets one here.
"""

from __future__ import annotations

import sys

import click

from cli.context import Env, group, pass_env
from engine.accounts.users import SYSTEM_ACTOR, list_accounts, set_password
from engine.errors import BadInput
from engine.runtime.step import Runtime


@group()
def user() -> None:
    """Staff accounts (people come from processes/rules/staff.yaml)."""


@user.command()
@click.argument("username", metavar="USER")
@click.option("--stdin", "from_stdin", is_flag=True, help="read the password from the first line of stdin")
@pass_env
def password(env: Env, username: str, from_stdin: bool) -> None:
    """Set USER's password (asked twice, not shown); audited, never logged."""
    if from_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
    else:
        secret = click.prompt("new password", hide_input=True, confirmation_prompt=True, err=True)
    if not secret:
        raise BadInput("no password given")
    with Runtime(env.db).transaction() as session:
        set_password(session, username, secret, SYSTEM_ACTOR)
    click.echo(f"password of {username} set")


@user.command("list")
@pass_env
def list_(env: Env) -> None:
    """List accounts with their roles and site, and who cannot log in yet (no password, inactive)."""
    with env.db.read_session() as session:
        accounts = list_accounts(session)
    for a in accounts:
        state = "active" if a.active else "inactive"
        if a.active and not a.has_password:
            state = "no password"
        click.echo(f"{a.username}  {a.name}  {','.join(a.roles) or '-'}  {a.site or '-'}  {state}")


COMMANDS = [user]
