"""The process library: `init`, `lint`, `deploy` and `import`."""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, Env, actor_option, command, pass_env
from engine.accounts.demo import settle_demo_staff
from engine.accounts.users import load_actor
from engine.definitions.diagram_import import import_diagram
from engine.definitions.library import check_bundle, deploy_bundle
from engine.errors import BadInput, DefinitionError, Finding
from engine.runtime.step import Runtime


def _paths_argument(required: bool):
    return click.argument("paths", nargs=-1, required=required, metavar="PATH..." if required else "[PATH...]")


def _note_option(help_text: str):
    return click.option("--note", metavar="NOTE", help=help_text)


def _deployed(result) -> str:
    return f"{result.process_id} v{result.version} {'deployed' if result.created else 'unchanged'}"


@command()
@click.option("--demo/--no-demo", default=False,
              help="also create the demo staff accounts, password 'demo' (a database set up without them "
                   "never gets them); --no-demo, the default, is accepted for scripts")
@pass_env
def init(env: Env, demo: bool) -> None:
    """Create or migrate the database, deploy the library; the demo staff only with --demo."""
    env.db.migrate()
    bundle = env.library()
    with Runtime(env.db).transaction() as session:
        checked = check_bundle(bundle)
        if checked.errors:
            raise DefinitionError(checked.findings)
        settle_demo_staff(session, checked.rules, demo)
        results = deploy_bundle(session, bundle, actor="system", note="estatedesk init")
    click.echo(f"database ready: {env.db.url}")
    for result in results:
        click.echo(f"  {_deployed(result)}")
    if demo:
        _print_demo_staff(checked.rules)
    else:
        click.echo("no demo accounts (estatedesk init --demo adds them to a new database)")


def _print_demo_staff(rules) -> None:
    """One line per demo account, with its roles and site, so a new user knows whom to log in as."""
    click.echo("demo users (password 'demo'):")
    for member in rules.staff:
        roles = "、".join(f"{rules.roles[r].zh} {rules.roles[r].en}" if r in rules.roles else r for r in member.roles)
        click.echo(f"  {member.username:<12} {member.name} · {roles} · {member.site}")


@command()
@_paths_argument(required=False)
@pass_env
def lint(env: Env, paths: tuple[str, ...]) -> int:
    """Check diagrams (default: the whole library); exit 1 on errors.

    PATH... are BPMN files or folders.
    """
    bundle = env.library()
    if paths:
        bundle.bpmn = {str(path): path.read_bytes() for path in _bpmn_paths(paths)}
    checked = check_bundle(bundle, partial=bool(paths))
    for finding in checked.findings:
        click.echo(_finding_line(finding, paths))
    errors = len(checked.errors)
    click.echo(f"{len(bundle.bpmn)} diagrams checked: {errors} errors, {len(checked.findings) - errors} warnings",
               err=True)
    return EXIT_FINDINGS if errors else EXIT_OK


def _finding_line(finding: Finding, explicit_paths) -> str:
    # Diagrams named on the command line are reported by the path that was given.
    if explicit_paths and finding.file.startswith("processes/"):
        given = finding.file.removeprefix("processes/")
        if Path(given).exists():
            return str(Finding(given, finding.line, finding.element_id, finding.severity, finding.message))
    return str(finding)


def _bpmn_paths(paths) -> list[Path]:
    """The .bpmn files among `paths`, folders searched recursively; `BadInput` for a missing one."""
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.bpmn")))
        elif path.is_file():
            found.append(path)
        else:
            raise BadInput(f"no such file or directory: {name}")
    return found


@command()
@_note_option("what changed")
@actor_option(default="system")
@pass_env
def deploy(env: Env, note: str | None, actor: str) -> None:
    """Deploy changed processes as new versions."""
    with Runtime(env.db).transaction() as session:
        load_actor(session, actor)
        results = deploy_bundle(session, env.library(), actor=actor, note=note or "")
    for result in results:
        click.echo(_deployed(result))


@command("import")
@_paths_argument(required=True)
@_note_option("where the files come from")
@actor_option(default="system")
@pass_env
def import_(env: Env, paths: tuple[str, ...], note: str | None, actor: str) -> int:
    """Deploy BPMN files from other tools, or keep them as documentation versions.

    PATH... are BPMN files or folders. A file that is not a BPMN diagram is refused and the
    others go on; the command then exits 2.
    """
    env.db.migrate()
    runtime = Runtime(env.db)
    library = env.library()
    refused = 0
    for path in _bpmn_paths(paths):
        try:
            with runtime.transaction() as session:
                load_actor(session, actor)
                results = import_diagram(session, library, str(path), path.read_bytes(), actor, note or "")
        except (BadInput, DefinitionError) as exc:  # not a diagram, too large, not .bpmn
            refused += 1
            click.echo(f"{path}: refused: {exc}", err=True)
            continue
        for r in results:
            if r.runnable:
                click.echo(f"{path}: {_deployed(r)}")
            else:
                click.echo(f"{path}: {r.process_id} v{r.version} kept as documentation "
                           f"({len(r.findings)} findings; see estatedesk lint {path})")
    return EXIT_BAD_INPUT if refused else EXIT_OK


COMMANDS = [init, lint, deploy, import_]
