"""Monthly statistics for supervisors and managers (issue #7): the dashboard, the cases
behind each number, CSV/Excel exports and the printable monthly report.

Thin views: filters from the GET form → `engine.stats` → a template or a file.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, g, render_template, request, url_for

from engine.accounts.sites import site_names
from engine.definitions.compiled import current_rules
from engine.stats import cases_behind, month_kpis, monthly_trend, response_histogram
from engine.stats.names import load_names
from web.auth import roles_required
from web.runtime import now, reading
from web.stats.cells import label
from web.stats.exports import XLSX_TYPE, chosen_tables, csv_bytes, file_name, xlsx_bytes
from web.stats.filter_words import filter_words
from web.stats.page import (
    CASE_STATES,
    chart_data,
    drill_from_request,
    filter_args,
    filter_options,
    histogram_target,
    query_from_request,
    shown_table,
    target_name,
    target_options,
)
from web.stats.report import render_report, report_sites, site_page

bp = Blueprint("stats", __name__)
# Supervisors and managers run the centres; auditors read the same figures.
STATS_ROLES = ("cs_supervisor", "manager", "auditor")
ECHARTS = "vendor/echarts/echarts.min.js"
TREND_MONTHS = 12


def _query(session):
    rules = current_rules(session)
    return query_from_request(g.actor, rules.sites if rules else {}, now()), rules


@bp.route("/stats")
@roles_required(*STATS_ROLES)
def dashboard():
    """The KPIs of one month as charts, and every table with the cases behind each number."""
    with reading() as session:
        query, rules = _query(session)
        kpis = month_kpis(session, query, now())
        trend = monthly_trend(session, query.site, now(), months=TREND_MONTHS, last_month=query.month)
        target = histogram_target(kpis, request.args.get("target"))
        histogram = response_histogram(session, query, target, now())
    charts_installed = (Path(current_app.static_folder) / ECHARTS).is_file()
    return render_template(
        "stats.html", query=query, args=filter_args(query), kpis=kpis,
        sites=site_names(g.actor, rules.sites) if rules else {},
        processes=filter_options(kpis, "process", query.process),
        categories=filter_options(kpis, "category", query.category),
        targets=target_options(kpis), target=target, target_name=target_name(kpis, target),
        tables=[shown_table(t, query) for t in kpis.tables], charts=chart_data(query, kpis, trend, histogram),
        echarts=ECHARTS, charts_installed=charts_installed)


@bp.route("/stats/cases")
@roles_required(*STATS_ROLES)
def cases():
    """The cases behind one number: the dashboard's filters plus the number's drill."""
    drill = drill_from_request()
    with reading() as session:
        query, _rules = _query(session)
        rows = cases_behind(session, query, drill, now())
        names = load_names(session)
    return render_template("stats_cases.html", query=query, args=filter_args(query), drill=drill, rows=rows,
                           states=CASE_STATES, names=names, label=label, filter_words=filter_words)


@bp.route("/stats/export.csv")
@roles_required(*STATS_ROLES)
def export_csv():
    return _export(csv_bytes, "text/csv", "csv")  # werkzeug adds "; charset=utf-8"


@bp.route("/stats/export.xlsx")
@roles_required(*STATS_ROLES)
def export_xlsx():
    return _export(xlsx_bytes, XLSX_TYPE, "xlsx")


def _export(write, mimetype: str, extension: str) -> Response:
    table_id = request.args.get("table") or None
    with reading() as session:
        query, _rules = _query(session)
        kpis = month_kpis(session, query, now())
    body = write(chosen_tables(kpis, table_id))
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={file_name(kpis, table_id, extension)}"})


@bp.route("/stats/report")
@roles_required(*STATS_ROLES)
def report():
    """The monthly report as `estatedesk report` writes it: one printable page per site."""
    with reading() as session:
        query, rules = _query(session)
        pages = [site_page(session, query.month, site, name, now()) for site, name in report_sites(rules, query.site)]
    return render_report(pages, url_for("stats.dashboard", **filter_args(query)))
