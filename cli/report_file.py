"""`estatedesk report`: the monthly report written to a file, and printed to PDF when asked.

The pages are the web app's (web/stats/report.py), rendered in a request context of
an app on the same database, so the file and `/stats/report` show the same figures.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from engine.definitions.compiled import current_rules
from engine.stats.months import check_month
from engine.store.db import Database
from web import create_app
from web.stats.report import render_report, report_sites, site_page

CHROMIUM = "/usr/bin/chromium"
PDF_SECONDS = 180
EXIT_OK, EXIT_FAILED = 0, 1


# -- estatedesk report ----------------------------------------------------------------

class Progress:
    """A bar over the sites on a terminal; a plain line per site otherwise (logs, pipes)."""

    WIDTH = 30

    def __init__(self, total: int, stream=None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.bar = self.stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        if self.bar:
            filled = self.WIDTH * self.done // max(self.total, 1)
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} {label}\033[K")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"report: {self.done}/{self.total} {label}\n")
        self.stream.flush()


def main(args, db=None) -> int:
    """`estatedesk report --month 2026-11 [--site S] [--out FILE] [--pdf] [--lang en]`."""
    check_month(args.month)  # BadInput: the command exits 2 with the message
    app = create_app({"DATABASE": db or Database()})
    runtime = app.extensions["estatedesk"]
    with app.test_request_context("/stats/report"):
        from flask import session

        session["lang"] = args.lang
        now = runtime.clock.now()
        with runtime.db.read_session() as db_session:
            sites = report_sites(current_rules(db_session), args.site)
            progress, pages = Progress(len(sites)), []
            for site, name in sites:
                pages.append(site_page(db_session, args.month, site, name, now))
                progress.step(site)
        html = render_report(pages)
    out = Path(args.out or f"report-{args.month}{'-' + args.site if args.site else ''}.html")
    out.write_text(html, encoding="utf-8")
    print(f"report written: {out} ({len(pages)} page{'s' if len(pages) != 1 else ''})")
    return print_pdf(out) if args.pdf else EXIT_OK


def print_pdf(html_path: Path) -> int:
    """Print the HTML to a PDF beside it with headless Chromium, or say why not."""
    chromium = shutil.which(CHROMIUM) or shutil.which("chromium")
    pdf = html_path.with_suffix(".pdf")
    if chromium is None:
        print(f"estatedesk: no PDF: {CHROMIUM} is not installed (apt-get install chromium); "
              f"print {html_path} from a browser instead", file=sys.stderr)
        return EXIT_FAILED
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
               f"--print-to-pdf={pdf.resolve()}", html_path.resolve().as_uri()]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PDF_SECONDS)
    except subprocess.TimeoutExpired:
        result = None
    if result is None or result.returncode != 0 or not pdf.is_file():
        print(f"estatedesk: Chromium could not print {html_path} to PDF", file=sys.stderr)
        return EXIT_FAILED
    print(f"PDF written: {pdf}")
    return EXIT_OK
