"""The monthly report: one printable page per site with the figures the SOPs ask for.

Help-request statistics (001/第6篇 4.10), complaint analysis with 及时率 = timely ÷ total
× 100 % (001/第4篇 4.5, 003 5.5), follow-up visits for leadership (001/第2篇 2.4), and
the SLA attainment and backlog behind them. `/stats/report` shows it in the browser;
`estatedesk report` (cli/serve.py hands over here) writes it to a file, and a PDF
through headless Chromium when asked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from flask import render_template

from engine.definitions.compiled import current_rules
from engine.errors import BadInput
from engine.stats import KpiTable, MonthKpis, StatsQuery, month_kpis
from web.i18n import gettext as _
from web.i18n import pick
from web.stats.cells import display
from web.stats.page import ShownTable, shown_table

CHROMIUM = "/usr/bin/chromium"
PDF_SECONDS = 180
EXIT_OK, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class Section:
    title: str
    clause: str  # where the SOPs ask for these figures
    summary: str  # one written line
    tables: list[ShownTable]


@dataclass(frozen=True)
class SitePage:
    site: str
    site_name: str
    month: str
    as_of: datetime
    sections: list[Section]


def site_page(session, month: str, site: str, site_name: str, now: datetime) -> SitePage:
    k = month_kpis(session, StatsQuery(month, site=site), now)
    return SitePage(site, site_name, month, k.as_of, [help_section(k), complaint_section(k),
                                                      followup_section(k), sla_section(k)])


def help_section(k: MonthKpis) -> Section:
    summary = _("本月受理 {cases} 件，已结 {completed} 件，未结 {open} 件，返工 {reopened} 件；"
                "时限及时率 {rate}，响应用时中位数 {p50}。").format(
        cases=k.cases, completed=k.completed, open=k.open, reopened=k.reopened,
        rate=display(k.timeliness_rate, "percent"), p50=display(k.durations["response"].p50_seconds, "seconds"))
    return Section(_("求助统计与分析"), "001/第6篇 4.10", summary,
                   [shown_table(k.table(t)) for t in ("summary", "by_process", "by_category", "durations")])


def complaint_section(k: MonthKpis) -> Section:
    sla = k.table("sla")
    rows = [r for r in sla.rows if r["drill"]["target"].startswith("complaint.")]
    met, breached = sum(r["met"] for r in rows), sum(r["breached"] for r in rows)
    summary = _("本月投诉 {total} 件：有效投诉 {valid} 件（有效投诉率 {valid_rate}），协办事项 {assistance} 件，"
                "过高要求 {excessive} 件；及时率 = 及时 {met} ÷ 总数 {clocks} × 100% = {rate}。").format(
        total=sum(k.complaints.values()), valid=k.complaints["valid"],
        valid_rate=display(k.valid_complaint_rate, "percent"), assistance=k.complaints["assistance"],
        excessive=k.complaints["excessive"], met=met, clocks=met + breached,
        rate=display(met / (met + breached) if met + breached else None, "percent"))
    return Section(_("投诉分析"), "001/第4篇 4.5；003 5.5", summary,
                   [shown_table(k.table("complaints")), shown_table(_only_rows(sla, rows))])


def followup_section(k: MonthKpis) -> Section:
    f = k.followup
    summary = _("应回访 {decided} 件，已回访 {visited} 件（回访率 {visit_rate}，规定回访率 {policy_rate}）；"
                "回访 {visits} 次，满意 {satisfied} 次（满意率 {satisfaction}）。").format(
        decided=f.decided, visited=f.visited, visit_rate=display(f.visit_rate, "percent"),
        policy_rate=display(f.policy_rate, "percent"), visits=f.visits, satisfied=f.satisfied,
        satisfaction=display(f.satisfaction, "percent"))
    return Section(_("回访统计"), "001/第2篇 2.4", summary, [shown_table(k.table("followup"))])


def sla_section(k: MonthKpis) -> Section:
    met, breached = sum(s.met for s in k.sla), sum(s.breached for s in k.sla)
    summary = _("时限目标及时 {met} 项、超时 {breached} 项（及时率 {rate}）；月末积压 {backlog} 件，"
                "其中超过 30 天 {old} 件。").format(
        met=met, breached=breached, rate=display(k.timeliness_rate, "percent"),
        backlog=sum(k.backlog.values()), old=k.backlog.get("gt30d", 0))
    return Section(_("时限达成与积压"), "001/第6篇 4.10", summary,
                   [shown_table(k.table("sla")), shown_table(k.table("backlog"))])


def _only_rows(table: KpiTable, rows: list[dict]) -> KpiTable:
    return replace(table, rows=rows)


def report_sites(rules, site: str | None) -> list[tuple[str, str]]:
    """(site, name) of the one site asked for, or of every site in the deployed rules."""
    sites = rules.sites if rules else {}
    if site and site not in sites:
        raise BadInput(f"unknown site {site!r}; known: {', '.join(sites) or 'none deployed'}")
    chosen = [site] if site else list(sites)
    return [(s, pick(sites[s].get("zh"), sites[s].get("en")) or s) for s in chosen]


def render_report(pages: list[SitePage], printable_link: str | None = None) -> str:
    return render_template("stats_report.html", pages=pages, back=printable_link)


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
    from engine.stats.months import check_month
    from engine.store.db import Database
    from web import create_app

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
