"""The process library: `init`, `lint`, `deploy` and `import`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click
from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from cli.context import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK, Env, actor_option, command, pass_env
from engine.accounts.demo import settle_demo
from engine.accounts.staff import StaffChange, apply_staff
from engine.accounts.users import demo_password_hash, load_actor
from engine.audit.events import EventType
from engine.definitions.deployed import drift_findings, latest_runnable
from engine.definitions.diagram_import import import_diagram
from engine.definitions.library import check_bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.errors import BadInput, DefinitionError, Finding
from engine.runtime.step import Runtime


def _paths_argument(required: bool):
    return click.argument("paths", nargs=-1, required=required, metavar="PATH..." if required else "[PATH...]")


def _note_option(help_text: str):
    return click.option("--note", metavar="NOTE", help=help_text)


def _deployed(result) -> str:
    return f"{result.process_id} v{result.version} {'deployed' if result.created else 'unchanged'}"


def _staff_line(change: StaffChange) -> str:
    """One line per account made to match staff.yaml, saying what an operator must do next."""
    who = f"{change.username} {change.name}"
    if change.type == EventType.STAFF_ADDED:
        data = change.data
        line = f"staff: added {who} ({', '.join(data['roles'])} · {data['site'] or '-'})"
        return line if data["password_set"] else f"{line}; no password yet: estatedesk user password {change.username}"
    if change.type == EventType.STAFF_CHANGED:
        fields = "; ".join(f"{field} {_shown(old)} → {_shown(new)}" for field, (old, new) in change.data["changes"].items())
        return f"staff: changed {who}: {fields}"
    return f"staff: deactivated {who} (no longer in staff.yaml; their history stays)"


def _shown(value) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value if value is not None else "-")


@command()
@pass_env
def migrate(env: Env) -> None:
    """Upgrade the database's schema to this version's newest migration (before starting new code)."""
    from engine.store.migrations import current_revision, head_revision

    before = current_revision(env.db.engine)
    env.db.migrate()
    after = current_revision(env.db.engine)
    if before == after:
        click.echo(f"schema already at {after}")
    else:
        click.echo(f"schema upgraded: {before or 'empty'} → {after} (head {head_revision()})")


@command()
@click.option("--demo/--no-demo", default=False,
              help="give the accounts it creates the demo password 'demo' (a database set up without "
                   "them never gets them); --no-demo, the default, is accepted for scripts")
@pass_env
def init(env: Env, demo: bool) -> None:
    """Create or migrate the database, deploy the library, create the staff of staff.yaml."""
    env.db.migrate()
    bundle = env.library()
    with Runtime(env.db).transaction() as session:
        demo = settle_demo(session, demo)
        results = deploy_bundle(session, bundle, actor="system", note="estatedesk init")
        staff = apply_staff(session, bundle, "system", demo_password_hash() if demo else None)
    click.echo(f"database ready: {env.db.url}")
    for result in results:
        click.echo(f"  {_deployed(result)}")
    given = {c.username for c in staff if c.type == EventType.STAFF_ADDED} if demo else set()
    for change in staff:
        if change.username not in given:  # the demo list below names those
            click.echo(f"  {_staff_line(change)}")
    if given:
        _print_demo_staff(load_rules(bundle.rules), given)
    elif not demo:
        click.echo("no demo passwords (estatedesk init --demo gives them to a new database's accounts)")


def _print_demo_staff(rules, usernames: set[str]) -> None:
    """One line per account just given the demo password, with its roles and site, so a new user
    knows whom to log in as (accounts that existed keep their passwords)."""
    click.echo("demo users (password 'demo'):")
    for member in (m for m in rules.staff if m.username in usernames):
        roles = "、".join(f"{rules.roles[r].zh} {rules.roles[r].en}" if r in rules.roles else r for r in member.roles)
        click.echo(f"  {member.username:<12} {member.name} · {roles} · {member.site}")


@command()
@_paths_argument(required=False)
@pass_env
def lint(env: Env, paths: tuple[str, ...]) -> int:
    """Check diagrams (default: the whole library) against the library; exit 1 on errors.

    PATH... are BPMN files or folders. Each is checked as if it were in the library (its calls,
    lanes, forms and sla keys resolve there), and against the deployed versions when there is
    a database: a file that differs from the version new cases start on gets a warning.
    """
    library = env.library()
    named = _named_files(paths)  # the library's name for each file given → the path given
    bundle = replace(library, bpmn={**library.bpmn, **{name: path.read_bytes() for name, path in named.items()}})
    deployed = _deployed_versions(env)
    checked = check_bundle(bundle, partial=bool(paths), lint_only=set(named) if paths else None,
                           deployed_process_ids=set(deployed))
    own = [name for name, path in named.items() if _in_folder(path, env.processes)] if paths else None
    findings = [f for f in checked.findings if not paths or not _other_diagram(f, library, named)]
    findings += drift_findings(bundle, deployed, own)
    for finding in findings:
        click.echo(_given_path(finding, named))
    errors = sum(f.severity == "error" for f in findings)
    click.echo(f"{len(named) if paths else len(bundle.bpmn)} diagrams checked: {errors} errors, "
               f"{len(findings) - errors} warnings", err=True)
    return EXIT_FINDINGS if errors else EXIT_OK


def _named_files(paths) -> dict[str, Path]:
    named: dict[str, Path] = {}
    for path in _bpmn_paths(paths):
        if path.name in named and named[path.name].resolve() != path.resolve():
            raise BadInput(f"two files named {path.name} ({named[path.name]}, {path}): lint them one at a time")
        named[path.name] = path
    return named


def _deployed_versions(env: Env) -> dict:
    """The latest runnable version of each deployed process; none without a database to read."""
    db = env.existing_db()
    if db is None:
        return {}
    try:
        with db.read_session() as session:
            return latest_runnable(session)
    except SQLAlchemyError as exc:  # not migrated yet, or not reachable: lint the files alone
        where = make_url(db.url).render_as_string(hide_password=True)
        click.echo(f"not compared with the deployed versions: cannot read {where} ({type(exc).__name__})", err=True)
        return {}


def _in_folder(path: Path, folder: Path) -> bool:
    return path.resolve() == (folder / path.name).resolve()


def _other_diagram(finding: Finding, library, named) -> bool:
    """Whether a finding is about a library diagram that was not named (shown only for the whole library)."""
    name = finding.file.removeprefix("processes/")
    return name in library.bpmn and name not in named


def _given_path(finding: Finding, named: dict[str, Path]) -> str:
    # Diagrams named on the command line are reported by the path that was given.
    path = named.get(finding.file.removeprefix("processes/"))
    if path is None:
        return str(finding)
    return str(Finding(str(path), finding.line, finding.element_id, finding.severity, finding.message))


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
    """Deploy changed processes as new versions; make the accounts match staff.yaml.

    A file that still differs from the version new cases start on afterwards gets a warning line.
    """
    bundle = env.library()
    with Runtime(env.db).transaction() as session:
        load_actor(session, actor)
        results = deploy_bundle(session, bundle, actor=actor, note=note or "")
        staff = apply_staff(session, bundle, actor)
        latest = latest_runnable(session)
        drift = drift_findings(bundle, latest)
    for result in results:
        newest = latest[result.process_id].version
        # Content names its version: a file put back as it was is that older version again.
        older = f" (an older version: new cases start on v{newest})" if newest > result.version else ""
        click.echo(_deployed(result) + older)
    for change in staff:
        click.echo(_staff_line(change))
    for finding in drift:
        click.echo(str(finding))


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


COMMANDS = [init, migrate, lint, deploy, import_]
