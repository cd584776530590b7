"""Long-running and web-rendered work: `worker`, `report` and `serve`.

`report` and `serve` hand over to the web layer, which the CLI sits above; they import it
when run, so the other commands start without loading Flask.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import SimpleNamespace

import click

from cli.context import Env, command, pass_env
from engine import clock
from engine.channels.sender import ChannelSender
from engine.duty.desk import run_duty_pass
from engine.duty.oncall import RosterRecipients
from engine.runtime.step import Runtime
from engine.runtime.timers import Wakeup, fire_all_due, run_worker


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


def _print_fired(count: int) -> None:
    click.echo(f"fired timers on {count} case(s)")


@command()
@click.option("--once", is_flag=True, help="fire what is due now and exit")
@click.option("--clock-offset", type=float, default=0.0, metavar="SECONDS",
              help="run as if the clock were SECONDS ahead (tests, benchmarks, demos)")
@pass_env
def worker(env: Env, once: bool, clock_offset: float) -> None:
    """Run the timer worker."""
    _log_to_stderr()
    runtime = Runtime(env.db, clock.SystemClock(offset=clock_offset), sender=ChannelSender(),
                      recipients=RosterRecipients())
    if once:
        _print_fired(fire_all_due(runtime))
        run_duty_pass(runtime)
        return
    wakeup, stopped_by = Wakeup(), []

    def stop(signum, _frame):
        stopped_by.append(signal.Signals(signum).name)
        wakeup.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)  # finish the step in hand, then return: no half-done work
    click.echo("timer worker running; Ctrl-C to stop", err=True)
    run_worker(runtime, wakeup, on_fired=_print_fired, passes=(run_duty_pass,))
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
@click.option("--no-worker", is_flag=True, help="do not run the timer worker in this process")
@pass_env
def serve(env: Env, **options) -> int:
    """Run the web app (and the timer worker)."""
    from web import serve as web_serve  # on use, as for `report`

    return web_serve.main(SimpleNamespace(**options, processes=env.processes, forms=env.forms), env.db)


COMMANDS = [worker, report, serve]
