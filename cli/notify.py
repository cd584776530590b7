"""Notifications: `notify test USER` sends a test message through each of that person's channels."""

from __future__ import annotations

import click

from cli.context import EXIT_FINDINGS, EXIT_OK, Env, group, pass_env
from engine import clock
from engine.channels.probe import send_test
from engine.channels.sender import ChannelSender


@group()
def notify() -> None:
    """Notifications by email, group robots and SMS."""


@notify.command()
@click.argument("user")
@pass_env
def test(env: Env, user: str) -> int:
    """Send USER a test message on each of their channels; print one line per channel.

    Exit 0 only if every channel took it (1 otherwise, or when USER has no channel).
    """
    with env.db.read_session() as session:
        results = send_test(session, user, ChannelSender(), clock.SystemClock().now())
    for result in results:
        click.echo(f"{result.channel} ({result.channel_type}): {'ok' if result.ok else 'FAILED'} - {result.detail}")
    if not results:
        click.echo(f"{user} has no channel to test: see staff.yaml (contacts, channels) and notifications.yaml",
                   err=True)
    return EXIT_OK if results and all(r.ok for r in results) else EXIT_FINDINGS


COMMANDS = [notify]
