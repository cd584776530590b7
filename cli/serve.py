"""Long-running and web-rendered work: `worker`, `report` and `serve`.

`report` and `serve` hand over to the web layer, which the CLI sits above; they import it
when run, so the other commands start without loading Flask.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import SimpleNamespace

import click

from cli import logs
from cli.context import Env, command, pass_env
from engine import clock
from engine.audit.anchors import checkpoint_and_export
from engine.audit.seal import audit_key
from engine.channels.sender import ChannelSender
from engine.duty.desk import run_duty_pass
from engine.duty.oncall import RosterRecipients
from engine.runtime.step import Runtime
from engine.runtime.timers import Chore, Wakeup, fire_all_due, run_worker


def _print_fired(count: int) -> None:
    click.echo(f"fired timers on {count} case(s)")


LOG_FORMAT = click.option("--log-format", type=click.Choice(logs.FORMATS), default=None,
                          help="json or text (default: $ESTATEDESK_LOG_FORMAT, else text on a terminal, json otherwise)")


@command()
@click.option("--once", is_flag=True, help="fire what is due now and exit")
@click.option("--checkpoint-out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="seal the audit heads every --checkpoint-every seconds and append the checkpoints to FILE")
@click.option("--checkpoint-every", type=float, default=600.0, metavar="SECONDS",
              help="how often, with --checkpoint-out (default: 600)")
@click.option("--clock-offset", type=float, default=0.0, metavar="SECONDS",
              help="run as if the clock were SECONDS ahead (tests, benchmarks, demos)")
@LOG_FORMAT
@pass_env
def worker(env: Env, once: bool, clock_offset: float, checkpoint_out: Path | None, checkpoint_every: float,
           log_format: str | None) -> None:
    """Run the timer worker."""
    audit_key()  # checked at start: without it no timer could record that it fired
    logs.configure(log_format)
    runtime = Runtime(env.db, clock.SystemClock(offset=clock_offset), sender=ChannelSender(),
                      recipients=RosterRecipients())
    chores = ()
    if checkpoint_out is not None:
        def audit_checkpoint(now):
            return checkpoint_and_export(env.db, now, checkpoint_out)
        chores = (Chore(checkpoint_every, audit_checkpoint),)
    if once:
        _print_fired(fire_all_due(runtime))
        run_duty_pass(runtime)
        for chore in chores:
            chore.run_if_due(runtime.clock.now())
        return
    wakeup, stopped_by = Wakeup(), []

    def stop(signum, _frame):
        stopped_by.append(signal.Signals(signum).name)
        wakeup.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)  # finish the step in hand, then return: no half-done work
    click.echo("timer worker running; Ctrl-C to stop", err=True)
    run_worker(runtime, wakeup, on_fired=_print_fired, chores=chores, passes=(run_duty_pass,))
    click.echo(f"timer worker stopped ({', '.join(stopped_by)})", err=True)


@command()
@click.option("--month", required=True, metavar="MONTH", help="the month, e.g. 2026-11")
@click.option("--site", metavar="SITE", help="one site (default: every site)")
@click.option("--out", metavar="FILE", help="the HTML file to write (default: report-MONTH[-SITE].html)")
@click.option("--pdf", is_flag=True, help="also print it to a PDF beside it with headless Chromium")
@click.option("--lang", type=click.Choice(("zh", "en")), default="zh", help="language of the report (default: zh)")
@pass_env
def report(env: Env, **options) -> int:
    """Write the monthly report: one printable page per site (HTML, PDF)."""
    from cli import report_file  # on use: it loads the whole web app, which other commands need not

    return report_file.main(SimpleNamespace(**options), env.db)


@command()
@click.option("--host", default="127.0.0.1", metavar="HOST", help="address to listen on (default: 127.0.0.1)")
@click.option("--port", type=int, default=8000, metavar="PORT", help="port to listen on (default: 8000)")
@click.option("--processes", "app_processes", type=click.IntRange(min=1), default=1, metavar="N",
              help="app processes sharing the port, each started again if it dies (default: 1)")
@click.option("--no-worker", is_flag=True, help="do not run the timer worker in this process")
@click.option("--listen-fd", type=int, hidden=True)  # set by `--processes`: accept on this inherited socket
@LOG_FORMAT
@pass_env
def serve(env: Env, log_format: str | None, app_processes: int, **options) -> int:
    """Run the web app (and the timer worker)."""
    from web import serve as web_serve  # on use, as for `report`

    audit_key()  # checked at start, not at the first step: without it nothing could be recorded
    web_serve.require_shared_secret(env.db)
    logs.configure(log_format)
    if app_processes > 1:
        from cli import supervisor

        library = ["--processes", str(env.processes), "--forms", str(env.forms)]
        return supervisor.run(options["host"], options["port"], app_processes, not options["no_worker"], library,
                              log_format, env.db.is_postgres)
    return web_serve.main(SimpleNamespace(**options, processes=env.processes, forms=env.forms), env.db)


COMMANDS = [worker, report, serve]
