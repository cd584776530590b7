"""The `estatedesk` command.

Exit codes: 0 success; 1 lint findings of severity error; 2 bad input or usage, with
one line on stderr. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from engine import clock
from engine.accounts.tokens import create_token, list_tokens, revoke_token
from engine.accounts.users import load_actor, load_demo_staff
from engine.audit import chain as audit
from engine.definitions.diagram_import import import_diagram
from engine.definitions.library import check_bundle, deploy_bundle, read_bundle
from engine.errors import DefinitionError, EngineError, Finding
from engine.runtime.queries import get_instance_row, instance_view, list_events, list_tasks
from engine.runtime.step import Runtime
from engine.store.db import Database

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(EngineError):
    """Bad command-line input."""


def _json_arg(text: str | None) -> dict:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--data is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(value, dict):
        raise UsageError("--data must be a JSON object")
    return value


def _print_json(value) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def _library(args):
    return read_bundle(Path(args.processes), Path(args.forms))


# -- commands ------------------------------------------------------------------------

def cmd_init(args, db: Database) -> int:
    db.migrate()
    bundle = _library(args)
    runtime = Runtime(db)
    with runtime.transaction() as session:
        checked = check_bundle(bundle)
        if checked.errors:
            raise DefinitionError(checked.findings)
        if not args.no_demo:
            load_demo_staff(session, checked.rules)
        results = deploy_bundle(session, bundle, actor="system", note="estatedesk init")
    print(f"database ready: {db.url}")
    for result in results:
        print(f"  {result.process_id} v{result.version} {'deployed' if result.created else 'unchanged'}")
    if not args.no_demo:
        _print_demo_staff(checked.rules)
    return EXIT_OK


def _print_demo_staff(rules) -> None:
    """One line per demo account, with its roles and site, so a new user knows whom to log in as."""
    print("demo users (password 'demo'):")
    for member in rules.staff:
        roles = "、".join(f"{rules.roles[r].zh} {rules.roles[r].en}" if r in rules.roles else r for r in member.roles)
        print(f"  {member.username:<12} {member.name} · {roles} · {member.site}")


def cmd_lint(args, db) -> int:
    bundle = _library(args)
    if args.paths:
        bundle.bpmn = {}
        for path in _bpmn_paths(args.paths):
            bundle.bpmn[str(path)] = path.read_bytes()
    checked = check_bundle(bundle, partial=bool(args.paths))
    for finding in checked.findings:
        print(_finding_line(finding, args.paths))
    errors = len(checked.errors)
    print(f"{len(bundle.bpmn)} diagrams checked: {errors} errors, {len(checked.findings) - errors} warnings",
          file=sys.stderr)
    return EXIT_FINDINGS if errors else EXIT_OK


def _finding_line(finding: Finding, explicit_paths) -> str:
    # Diagrams named on the command line are reported by the path that was given.
    if explicit_paths and finding.file.startswith("processes/"):
        given = finding.file.removeprefix("processes/")
        if Path(given).exists():
            return str(Finding(given, finding.line, finding.element_id, finding.severity, finding.message))
    return str(finding)


def _bpmn_paths(paths) -> list[Path]:
    found = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.bpmn")))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"no such file or directory: {name}")
    return found


def cmd_deploy(args, db) -> int:
    runtime = Runtime(db)
    with runtime.transaction() as session:
        load_actor(session, args.actor)
        results = deploy_bundle(session, _library(args), actor=args.actor, note=args.note or "")
    for result in results:
        print(f"{result.process_id} v{result.version} {'deployed' if result.created else 'unchanged'}")
    return EXIT_OK


def cmd_import(args, db) -> int:
    db.migrate()
    runtime = Runtime(db)
    library = _library(args)
    for path in _bpmn_paths(args.paths):
        with runtime.transaction() as session:
            load_actor(session, args.actor)
            results = import_diagram(session, library, str(path), path.read_bytes(), args.actor, args.note or "")
        for r in results:
            if r.runnable:
                print(f"{path}: {r.process_id} v{r.version} {'deployed' if r.created else 'unchanged'}")
            else:
                print(f"{path}: {r.process_id} v{r.version} kept as documentation "
                      f"({len(r.findings)} findings; see estatedesk lint {path})")
    return EXIT_OK


def cmd_start(args, db) -> int:
    result = Runtime(db).start_instance(args.process, _json_arg(args.data), args.actor, args.version)
    _print_step(result)
    return EXIT_OK


def cmd_tasks(args, db) -> int:
    with db.session() as session:
        roles = [args.role] if args.role else None
        if args.actor and not args.role:
            roles = sorted(load_actor(session, args.actor).roles)
        tasks = list_tasks(session, roles=roles, instance_id=_instance_id(session, args.instance))
    for task in tasks:
        holder = f" [{task.assignee}]" if task.assignee else ""
        due = f" due {task.due_at:%Y-%m-%d %H:%M}" if task.due_at else ""
        print(f"{task.id}  {task.reference}  {task.role}  {task.name}{holder}{due}")
    return EXIT_OK


def _instance_id(session, ref):
    return get_instance_row(session, ref).id if ref else None


def cmd_complete(args, db) -> int:
    _print_step(Runtime(db).complete_task(args.task, _json_arg(args.data), args.actor))
    return EXIT_OK


def cmd_claim(args, db) -> int:
    task = Runtime(db).claim_task(args.task, args.actor)
    print(f"{task.id} claimed by {task.assignee}")
    return EXIT_OK


def cmd_send(args, db) -> int:
    _print_step(Runtime(db).send_message(args.instance, args.name, _json_arg(args.data), args.actor))
    return EXIT_OK


def cmd_cancel(args, db) -> int:
    _print_step(Runtime(db).cancel_instance(args.instance, args.reason, args.actor))
    return EXIT_OK


def cmd_retry(args, db) -> int:
    _print_step(Runtime(db).retry_instance(args.instance, _json_arg(args.data), args.actor))
    return EXIT_OK


def cmd_comment(args, db) -> int:
    comment = Runtime(db).add_comment(args.instance, {"text": args.text}, args.actor)
    print(f"{comment.reference}: comment by {comment.actor} at {comment.at:%Y-%m-%d %H:%M:%S}")
    return EXIT_OK


def cmd_show(args, db) -> int:
    with db.session() as session:
        row = get_instance_row(session, args.instance)
        view = instance_view(session, row)
        path = audit.executed_path(session, row.id)
        events = list_events(session, row.id)
        tasks = list_tasks(session, instance_id=row.id)
    print(f"{view.reference}  {view.process_name} v{view.version}  {view.status}  site={view.site} unit={view.unit}")
    if view.error_message:
        print(f"error at {view.error_element} line {view.error_line}: {view.error_message}")
    print("executed: " + " → ".join(path.elements))
    print("flows:    " + ", ".join(path.flows))
    for task in tasks:
        print(f"open task {task.id}: {task.name} ({task.role}{', ' + task.assignee if task.assignee else ''})")
    for event in events:
        data = json.dumps(event.data, ensure_ascii=False, default=str) if event.data else ""
        print(f"{event.at:%Y-%m-%d %H:%M:%S}  {event.type:<18} {event.actor or '-':<12} {event.element_id or '-'}  {data}")
    return EXIT_OK


def cmd_audit_verify(args, db) -> int:
    with db.session() as session:
        result = audit.verify_chain(session)
    print(result)
    return EXIT_OK if result.ok else EXIT_FINDINGS


def cmd_stats_rebuild(args, db) -> int:
    from engine.stats import rebuild
    with db.session() as session, session.begin():
        count = rebuild(session.connection())
    print(f"case facts rebuilt from the audit trail: {count} cases")
    return EXIT_OK


def cmd_token_create(args, db) -> int:
    with Runtime(db).transaction() as session:
        token, secret = create_token(session, args.user, args.name)
    print(secret)
    print(f"token {token.id} for {token.username} ({token.name}); shown once, store it now", file=sys.stderr)
    return EXIT_OK


def cmd_token_revoke(args, db) -> int:
    with Runtime(db).transaction() as session:
        token = revoke_token(session, args.id)
    print(f"token {token.id} of {token.username} revoked")
    return EXIT_OK


def cmd_token_list(args, db) -> int:
    with db.session() as session:
        tokens = list_tokens(session)
    for token in tokens:
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        print(f"{token.id}  {token.username}  {token.name}  created {token.created_at:%Y-%m-%d %H:%M}  {state}")
    return EXIT_OK


class OneLineLogFormatter(logging.Formatter):
    """Log records as one line each, failures with their exception's type and message: no traceback."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{self.formatTime(record)} {record.levelname} {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[0].__name__}: {record.exc_info[1]})"
        return text


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineLogFormatter())
    logger = logging.getLogger("engine")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)


def cmd_worker(args, db) -> int:
    from engine.runtime.timers import Wakeup, fire_all_due, run_worker

    _log_to_stderr()
    runtime = Runtime(db, clock.SystemClock(offset=args.clock_offset))
    if args.once:
        print(f"fired timers on {fire_all_due(runtime)} case(s)")
        return EXIT_OK
    wakeup, stopped_by = Wakeup(), []

    def stop(signum, _frame):
        stopped_by.append(signal.Signals(signum).name)
        wakeup.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)  # finish the step in hand, then return: no half-done work
    print("timer worker running; Ctrl-C to stop", file=sys.stderr, flush=True)
    run_worker(runtime, wakeup, on_fired=lambda n: print(f"fired timers on {n} case(s)", flush=True))
    print(f"timer worker stopped ({', '.join(stopped_by)})", file=sys.stderr)
    return EXIT_OK


def cmd_serve(args, db) -> int:
    # The web stack is loaded by name so the engine never imports Flask (see test_architecture).
    from web import serve  # imported on use: the other commands need no web app

    return serve.main(args, db)


def cmd_report(args, db) -> int:
    from cli import report  # imported on use: it loads the whole web app

    return report.main(args, db)


def _print_step(result) -> None:
    view = result.instance
    print(f"{view.reference} (id {view.id}) {view.status} lock_version={view.lock_version}")
    if view.error_message:
        print(f"error at {view.error_element} line {view.error_line}: {view.error_message}")
    for task in result.open_tasks:
        print(f"  next: {task.id}  {task.name} ({task.role})")


# -- argument parsing ----------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="estatedesk", description="EstateDesk: SOPs executed as BPMN.")
    parser.add_argument("--processes", default="processes", help="process library folder (default: processes)")
    parser.add_argument("--forms", default="forms", help="forms folder (default: forms)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        if func is not None:
            p.set_defaults(func=func)
        return p

    def actor(p, required=True):
        p.add_argument("--as", dest="actor", required=required, metavar="USER", help="who is acting")

    p = add("init", cmd_init, "create or migrate the database, deploy the library, load demo staff")
    p.add_argument("--no-demo", action="store_true", help="do not create the demo staff accounts")
    p = add("lint", cmd_lint, "check diagrams (default: the whole library); exit 1 on errors")
    p.add_argument("paths", nargs="*", help="BPMN files or folders")
    p = add("deploy", cmd_deploy, "deploy changed processes as new versions")
    p.add_argument("--note", help="what changed")
    p.add_argument("--as", dest="actor", default="system", metavar="USER")
    p = add("import", cmd_import, "deploy BPMN files from other tools, or keep them as documentation versions")
    p.add_argument("paths", nargs="+", help="BPMN files or folders")
    p.add_argument("--note", help="where the files come from")
    p.add_argument("--as", dest="actor", default="system", metavar="USER")
    p = add("start", cmd_start, "start a case")
    p.add_argument("process")
    p.add_argument("--data", help="initial case data as a JSON object")
    p.add_argument("--version", type=int, help="a deployed version (default: latest)")
    actor(p)
    p = add("tasks", cmd_tasks, "list open tasks")
    p.add_argument("--role")
    p.add_argument("--instance", help="case id or reference")
    actor(p, required=False)
    p = add("complete", cmd_complete, "complete a task with form data")
    p.add_argument("task")
    p.add_argument("--data", help="form data as a JSON object")
    actor(p)
    p = add("claim", cmd_claim, "claim a task")
    p.add_argument("task")
    actor(p)
    p = add("send", cmd_send, "deliver a message or signal to a case")
    p.add_argument("instance", help="case id or reference")
    p.add_argument("name", help="message or signal name, e.g. ambulance_arrived")
    p.add_argument("--data", help="payload as a JSON object")
    p.add_argument("--as", dest="actor", default="system", metavar="USER")
    p = add("cancel", cmd_cancel, "cancel a case with a reason")
    p.add_argument("instance")
    p.add_argument("--reason", required=True)
    actor(p)
    p = add("retry", cmd_retry, "retry a case in error after correcting its data")
    p.add_argument("instance")
    p.add_argument("--data", help="corrected data as a JSON object")
    actor(p)
    p = add("comment", cmd_comment, "add a comment (备注) to a case's record")
    p.add_argument("instance", help="case id or reference")
    p.add_argument("--text", required=True)
    actor(p)
    p = add("show", cmd_show, "show a case: executed path and events")
    p.add_argument("instance", help="case id or reference")
    p = add("audit", None, "audit trail commands")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    v = audit_sub.add_parser("verify", help="check the hash chain; exit 1 if broken")
    v.set_defaults(func=cmd_audit_verify)
    p = add("stats", None, "monthly statistics")
    stats_sub = p.add_subparsers(dest="stats_command", required=True, metavar="ACTION")
    v = stats_sub.add_parser("rebuild", help="recompute the case facts from the whole audit trail")
    v.set_defaults(func=cmd_stats_rebuild)
    p = add("token", None, "API tokens for integrations (sent as Authorization: Bearer ...)")
    token_sub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = token_sub.add_parser("create", help="make a token acting as USER; print it once")
    t.add_argument("user", help="the user whose roles the token carries")
    t.add_argument("--name", default="api", help="what uses the token, e.g. phone-system")
    t.set_defaults(func=cmd_token_create)
    t = token_sub.add_parser("revoke", help="stop a token from working")
    t.add_argument("id", type=int, help="the token's id, as `token list` shows")
    t.set_defaults(func=cmd_token_revoke)
    t = token_sub.add_parser("list", help="list tokens (never their secrets)")
    t.set_defaults(func=cmd_token_list)
    p = add("worker", cmd_worker, "run the timer worker")
    p.add_argument("--once", action="store_true", help="fire what is due now and exit")
    p.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS",
                   help="run as if the clock were SECONDS ahead (tests, benchmarks, demos)")
    p = add("report", cmd_report, "write the monthly report: one printable page per site (HTML, PDF)")
    p.add_argument("--month", required=True, help="the month, e.g. 2026-11")
    p.add_argument("--site", help="one site (default: every site)")
    p.add_argument("--out", help="the HTML file to write (default: report-MONTH[-SITE].html)")
    p.add_argument("--pdf", action="store_true", help="also print it to a PDF beside it with headless Chromium")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the report (default: zh)")
    p = add("serve", cmd_serve, "run the web app (and the timer worker)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-worker", action="store_true", help="do not run the timer worker in this process")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        db = None if args.func is cmd_lint else Database()
        return args.func(args, db)
    except DefinitionError as exc:
        for finding in exc.findings:
            print(finding, file=sys.stderr)
        return EXIT_FINDINGS
    except EngineError as exc:
        print(f"estatedesk: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
        print(f"estatedesk: unexpected error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
