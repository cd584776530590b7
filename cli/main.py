"""The `estatedesk` command: the group, its shared options, and the exit code of every outcome.

Exit codes: 0 success; 1 lint findings of severity error (or a broken audit chain); 2 bad
input or usage, with one line on stderr (usage errors also print the usage line). No
traceback reaches the user.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cli import audit, cases, library, notify, roster, serve, tokens, users
from cli.context import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, Env, group
from engine.errors import DefinitionError, EngineError

EXIT_INTERRUPTED = 130  # what a shell reports for Ctrl-C


@group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--processes", default="processes", metavar="DIR", help="process library folder (default: processes)")
@click.option("--forms", default="forms", metavar="DIR", help="forms folder (default: forms)")
@click.pass_context
def estatedesk(ctx: click.Context, processes: str, forms: str) -> None:
    """EstateDesk: SOPs executed as BPMN."""
    env = ctx.obj = Env(Path(processes), Path(forms))
    ctx.call_on_close(env.close)


for _module in (library, cases, audit, tokens, users, roster, notify, serve):
    for _command in _module.COMMANDS:
        estatedesk.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Run the command line `argv` (default: the process's arguments); return the exit code."""
    try:
        code = estatedesk.main(argv, prog_name="estatedesk", standalone_mode=False)
    except click.UsageError as exc:
        _print_usage_error(exc)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        _fail(exc.format_message())
        return EXIT_BAD_INPUT
    except click.Abort:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except DefinitionError as exc:
        for finding in exc.findings:
            click.echo(str(finding), err=True)
        return EXIT_FINDINGS
    except EngineError as exc:
        _fail(str(exc))
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        _fail(f"unexpected error: {exc.__class__.__name__}: {exc}")
        return EXIT_BAD_INPUT
    return EXIT_OK if code is None else code


def _fail(message: str) -> None:
    click.echo(f"estatedesk: {message}", err=True)


def _print_usage_error(exc: click.UsageError) -> None:
    """The usage line of the command at fault, then what was wrong with the command line."""
    if exc.ctx is None:
        _fail(exc.format_message())
        return
    click.echo(exc.ctx.get_usage(), err=True)
    click.echo(f"{exc.ctx.command_path}: error: {exc.format_message()}", err=True)


if __name__ == "__main__":
    sys.exit(main())
