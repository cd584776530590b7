"""What every command shares: exit codes, the command classes, the options they repeat,
and the object each command is handed (library folders, the database opened on first use)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click

from engine.definitions.library import Bundle, read_bundle
from engine.errors import BadInput
from engine.store.db import Database, existing_database_url

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


class UsageFormatter(click.HelpFormatter):
    """Help and usage errors begin `usage:`, as they did when the command was built on argparse."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "usage: " if prefix is None else prefix)


class Context(click.Context):
    formatter_class = UsageFormatter


class Command(click.Command):
    context_class = Context


class Group(click.Group):
    """Commands listed in the order they were added (the order of the work), not A to Z.

    Without a command it is a usage error (exit 2), not a page of help (exit 0).
    """

    context_class = Context
    command_class = Command
    group_class = type  # its subgroups are of this class too

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("no_args_is_help", False)
        super().__init__(*args, **kwargs)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


command = functools.partial(click.command, cls=Command)
group = functools.partial(click.group, cls=Group)


class Env:
    """The library folders named on the command line and the database, opened when first asked for.

    `lint` runs without one, and compares with the deployed versions when there is one.
    """

    def __init__(self, processes: Path, forms: Path):
        self.processes, self.forms = processes, forms
        self._db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database()
        return self._db

    def existing_db(self) -> Database | None:
        """The database if there is one already (`lint` compares with it, and never creates one)."""
        if self._db is None:
            url = existing_database_url()
            if url is None:
                return None
            self._db = Database(url)
        return self._db

    def library(self) -> Bundle:
        return read_bundle(self.processes, self.forms)

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


pass_env = click.pass_obj


def actor_option(required: bool = True, default: str | None = None):
    """`--as USER`: who is acting (passed to the command as `actor`); with a default, never required."""
    if default is not None:
        return click.option("--as", "actor", default=default, metavar="USER", help=f"who is acting (default: {default})")
    # No `default=None` here: Click counts an explicit None as a value, so a required --as could be left out.
    return click.option("--as", "actor", required=required, metavar="USER", help="who is acting")


def _json_object(_ctx, _param, text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"--data is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise BadInput("--data must be a JSON object")
    return value


def data_option(help_text: str):
    """`--data JSON`: a JSON object (an empty one when not given); anything else is bad input."""
    return click.option("--data", metavar="JSON", callback=_json_object, help=help_text)

