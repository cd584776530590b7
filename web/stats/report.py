"""The monthly report: one printable page per site with the figures the SOPs ask for.

Help-request statistics (001/第6篇 4.10), complaint analysis with 及时率 = timely ÷ total
× 100 % (001/第4篇 4.5, 003 5.5), follow-up visits for leadership (001/第2篇 2.4), and
the SLA attainment and backlog behind them, the patrol rounds' coverage (001/第1篇 2.3–2.5)
and the duty desk's figures per clerk (004 4.4). `/stats/report` shows it in the browser;
`estatedesk report` (cli/report.py) writes it to a file, and a PDF through headless
Chromium when asked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from flask import render_template
from flask_babel import gettext as _

from engine.duty.figures import figures_table
from engine.errors import BadInput
from engine.stats import KpiTable, MonthKpis, StatsQuery, month_kpis
from web.i18n import pick
from web.stats.cells import display
from web.stats.page import ShownTable, shown_table


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
    sections = [help_section(k), complaint_section(k), followup_section(k), sla_section(k)]
    sections += [rounds_section(k)] if k.rounds.rounds else []
    duty = figures_table(session, site, month)
    return SitePage(site, site_name, month, k.as_of, sections + ([duty_section(duty)] if duty is not None else []))


def help_section(k: MonthKpis) -> Section:
    summary = _("本月受理 %(cases)s 件，已结 %(completed)s 件，未结 %(open)s 件，返工 %(reopened)s 件；"
                "时限及时率 %(rate)s，响应用时中位数 %(p50)s。",
        cases=k.cases, completed=k.completed, open=k.open, reopened=k.reopened,
        rate=display(k.timeliness_rate, "percent"), p50=display(k.durations["response"].p50_seconds, "seconds"))
    return Section(_("求助统计与分析"), "001/第6篇 4.10", summary,
                   [shown_table(k.table(t)) for t in ("summary", "by_process", "by_category", "durations")])


def complaint_section(k: MonthKpis) -> Section:
    sla = k.table("sla")
    rows = [r for r in sla.rows if r["drill"]["target"].startswith("complaint.")]
    met, breached = sum(r["met"] for r in rows), sum(r["breached"] for r in rows)
    summary = _("本月投诉 %(total)s 件：有效投诉 %(valid)s 件（有效投诉率 %(valid_rate)s），协办事项 %(assistance)s 件，"
                "过高要求 %(excessive)s 件；及时率 = 及时 %(met)s ÷ 总数 %(clocks)s × 100%% = %(rate)s。",
        total=sum(k.complaints.values()), valid=k.complaints["valid"],
        valid_rate=display(k.valid_complaint_rate, "percent"), assistance=k.complaints["assistance"],
        excessive=k.complaints["excessive"], met=met, clocks=met + breached,
        rate=display(met / (met + breached) if met + breached else None, "percent"))
    return Section(_("投诉分析"), "001/第4篇 4.5；003 5.5", summary,
                   [shown_table(k.table("complaints")), shown_table(_only_rows(sla, rows))])


def followup_section(k: MonthKpis) -> Section:
    f = k.followup
    summary = _("应回访 %(decided)s 件，抽中 %(sampled)s 件，已回访 %(visited)s 件（回访率 %(visit_rate)s，"
                "规定回访率 %(policy_rate)s；回访处理率 %(handled_rate)s，应达100%%）；"
                "回访 %(visits)s 次，满意 %(satisfied)s 次（满意率 %(satisfaction)s）。各类回访见下表。",
        decided=f.decided, sampled=f.sampled, visited=f.visited, visit_rate=display(f.visit_rate, "percent"),
        policy_rate=display(f.policy_rate, "percent"), handled_rate=display(f.handled_rate, "percent"),
        visits=f.visits, satisfied=f.satisfied, satisfaction=display(f.satisfaction, "percent"))
    return Section(_("客户回访记录"), "001/第2篇 1.11；001/第2篇 2.4", summary, [shown_table(k.table("followup"))])


def sla_section(k: MonthKpis) -> Section:
    met, breached = sum(s.met for s in k.sla), sum(s.breached for s in k.sla)
    summary = _("时限目标及时 %(met)s 项、超时 %(breached)s 项（及时率 %(rate)s）；月末积压 %(backlog)s 件，"
                "其中超过 30 天 %(old)s 件。",
        met=met, breached=breached, rate=display(k.timeliness_rate, "percent"),
        backlog=sum(k.backlog.values()), old=k.backlog.get("gt30d", 0))
    return Section(_("时限达成与积压"), "001/第6篇 4.10", summary,
                   [shown_table(k.table("sla")), shown_table(k.table("backlog"))])


def rounds_section(k: MonthKpis) -> Section:
    r = k.rounds
    summary = _("本月巡楼 %(rounds)s 次，签到点覆盖率 %(coverage)s（计划 %(planned)s 个，已签到 %(visited)s 个）；"
                "全部签到 %(complete)s 次，按时巡完 %(on_time)s 次。",
        rounds=r.rounds, coverage=display(r.coverage, "percent"), planned=r.planned, visited=r.visited,
        complete=r.complete, on_time=r.on_schedule)
    return Section(_("巡查统计"), "001/第1篇 2.3–2.5", summary, [shown_table(k.table("rounds"))])


def duty_section(table: KpiTable) -> Section:
    """The duty desk's month per clerk, from the roster and the duty log (004 4.4 performance use)."""
    total = {c.key: sum(r[c.key] for r in table.rows) for c in table.columns if c.kind == "count"}
    summary = _("本月值班 %(shifts)s 班；接班 %(handovers)s 次，其中按时交接 %(on_time)s 次；值班记录 %(entries)s 条；"
                "来电 %(calls)s 个，其中超过规定响铃数才接听 %(late)s 个。",
        shifts=total["shifts"], handovers=total["handovers"], on_time=total["handovers_on_time"],
        entries=total["log_entries"], calls=total["calls"], late=total["late_calls"])
    return Section(_("值班表现"), "004 4.4；004 4.1.5", summary, [shown_table(table)])


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
