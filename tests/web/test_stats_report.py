"""The monthly report: `estatedesk report` writes one printable page per site with the
figures the SOPs ask for, and shows the same numbers as the dashboard."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lxml import html

from cli import report_file as stats_report
from cli.main import main
from cli.report_file import Progress

STATS_MONTH = "2026-09"  # the month the stats_month fixture plays
CLAUSES = ("001/第6篇 4.10", "001/第4篇 4.5；003 5.5", "001/第2篇 2.4")


@pytest.fixture
def report(db_url, monkeypatch, capsys, tmp_path):
    """Run `estatedesk report ...` on the test's database; return (exit code, out, err, page)."""
    monkeypatch.setenv("DATABASE_URL", db_url)

    def run(*args):
        out_file = tmp_path / "report.html"
        code = main(["report", *args, "--out", str(out_file)])
        out, err = capsys.readouterr()
        return code, out, err, out_file.read_text(encoding="utf-8") if out_file.exists() else None

    return run


def site_pages(page: str) -> list:
    return html.fromstring(page).find_class("site-page")


def test_report_has_a_page_per_site_with_the_sop_figures(report, stats_month):
    code, out, err, page = report("--month", STATS_MONTH)
    assert code == 0, err
    assert "report written" in out and "(2 pages)" in out
    pages = site_pages(page)
    assert [p.get("data-site") for p in pages] == ["nanshan", "binhai"]
    assert "@page" in page and "break-after: page" in page
    nanshan = pages[0].text_content()
    assert "南山花园服务中心 · 2026-09 月度报告" in nanshan
    for clause in CLAUSES:
        assert clause in nanshan
    assert "本月受理 5 件，已结 3 件，未结 1 件，返工 1 件" in nanshan
    assert "本月投诉 1 件：有效投诉 0 件" in nanshan and "过高要求 1 件" in nanshan
    assert "回访 3 次，满意 2 次（满意率 66.7%）" in nanshan
    assert "月末积压 2 件，其中超过 30 天 1 件" in nanshan
    assert "本月受理 1 件" in pages[1].text_content()
    # no bar when stderr is not a terminal, but a line per site
    assert "report: 1/2 nanshan" in err and "report: 2/2 binhai" in err


def test_report_of_one_site_in_english(report, stats_month):
    code, out, _, page = report("--month", STATS_MONTH, "--site", "binhai", "--lang", "en")
    assert code == 0 and "(1 page)" in out
    pages = site_pages(page)
    assert [p.get("data-site") for p in pages] == ["binhai"]
    assert "Binhai Court service centre · 2026-09 Monthly report" in pages[0].text_content()
    assert "1 cases opened this month" in pages[0].text_content()
    by_process = pages[0].find(".//*[@id='table-by_process']").text_content()
    assert "Repair" in by_process and "报修处理" not in by_process  # as its diagram names it in English


@pytest.mark.parametrize(("args", "message"), [
    (("--month", "2026-13"), "month must look like 2026-11"),
    (("--month", "November"), "month must look like 2026-11"),
    (("--month", STATS_MONTH, "--site", "atlantis"), "unknown site 'atlantis'"),
])
def test_bad_arguments_exit_2_with_a_clear_message(report, stats_month, args, message):
    code, _, err, page = report(*args)
    assert code == 2 and message in err and "Traceback" not in err
    assert page is None


def test_the_report_shows_the_dashboards_numbers(web, stats_month, stats_table):
    web.login("manager1")
    dashboard = web.get_text(f"/stats?month={STATS_MONTH}&site=nanshan")
    printable = web.get_text(f"/stats/report?month={STATS_MONTH}&site=nanshan")
    assert len(site_pages(printable)) == 1
    for table_id in ("summary", "by_process", "durations", "complaints", "followup", "backlog"):
        shown = [[text for text, _ in row] for row in stats_table(dashboard, table_id)]
        reported = [[text for text, _ in row] for row in stats_table(printable, table_id)]
        assert reported == shown, table_id
    assert '<button type="button" data-print>' in printable


def test_the_cli_report_equals_the_web_report(web, report, stats_month):
    _, _, _, written = report("--month", STATS_MONTH)
    web.login("gm1")
    printable = web.get_text(f"/stats/report?month={STATS_MONTH}&site=")
    for cli_page, web_page in zip(site_pages(written), site_pages(printable), strict=True):
        assert cli_page.text_content() == web_page.text_content()


def report_section(page: str, number: int):
    return html.fromstring(page).find_class("report-section")[number]


def test_the_report_names_the_sla_targets_and_keeps_the_complaint_ones_apart(web, stats_month, start_case, clock):
    from tests.scenario.test_stats_month import complaint

    # in October, valid: environment's handling clock runs (an engineering one runs a repair order's)
    complaint(start_case, clock, "ignored_after_two_reminders", department="environment")
    web.login("manager1")
    printable = web.get_text("/stats/report?month=2026-10&site=nanshan")
    complaints, sla_section = (report_section(printable, n).find(".//*[@id='table-sla']") for n in (1, 3))
    assert [tr[0].text_content() for tr in complaints.iter("tr")][1:] == ["投诉处理承诺时限"]
    assert "填写维修单" in sla_section.text_content() and "投诉处理承诺时限" in sla_section.text_content()
    assert "repair.order_written" not in printable and "complaint.resolve" not in printable


def test_pdf_without_chromium_says_so(report, stats_month, monkeypatch):
    monkeypatch.setattr(stats_report.shutil, "which", lambda _name: None)
    code, _, err, page = report("--month", STATS_MONTH, "--site", "nanshan", "--pdf")
    assert code == 1 and "no PDF" in err and "chromium" in err
    assert page is not None  # the HTML is still written


@pytest.mark.skipif(not Path(stats_report.CHROMIUM).exists(), reason="needs /usr/bin/chromium to print a PDF")
def test_pdf_printed_by_headless_chromium(report, stats_month, tmp_path):
    code, out, err, _ = report("--month", STATS_MONTH, "--pdf")
    assert code == 0, err
    pdf = tmp_path / "report.pdf"
    assert f"PDF written: {pdf}" in out and pdf.read_bytes().startswith(b"%PDF")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal():
    stream = Terminal()
    progress = Progress(2, stream)
    progress.step("nanshan")
    progress.step("binhai")
    text = stream.getvalue()
    assert "\r[" + "#" * 15 + "." * 15 + "] 1/2 nanshan" in text
    assert "\r[" + "#" * 30 + "] 2/2 binhai" in text and text.endswith("\n")



def test_the_report_shows_each_clerks_duty_figures(web, runtime):
    """004 4.4: the duty desk's performance figures (shifts worked, handovers on time, log entries,
    late answers) are a section of the month's report, per rostered clerk."""
    from engine.duty import logbook
    from tests.scenario.duty_month import MONTH, SITE, A, at, full_assignments, publish_month, shift_id

    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    at(runtime, "2026-12-01 10:00")
    day = shift_id(view, "2026-12-01", "day")
    logbook.write_entry(runtime, day, A, "10:00 巡查大堂正常", "")
    logbook.record_call(runtime, SITE, 5, "", "phone_system", "system")  # answered after 5 rings
    web.login("manager1")
    printable = web.get_text(f"/stats/report?month={MONTH}&site={SITE}")
    duty = html.fromstring(printable).find_class("report-section")[-1]
    assert "值班表现" in duty.text_content() and "004 4.4" in duty.text_content()
    rows = {tr[0].text_content(): [td.text_content() for td in tr[1:]]
            for tr in duty.find(".//*[@id='table-duty_figures']").iter("tr") if tr[0].tag == "td"}
    shifts_of_a = sum(1 for (_, post), who in full_assignments(runtime).items() if post in ("day", "duty") and who == A)
    assert rows["王敏 (reception1)"] == [str(shifts_of_a), "0", "0", "1", "1", "1"]
    assert "超过规定响铃数接听" in duty.text_content()  # the column heading of the late answers


def test_the_report_shows_the_patrol_rounds_coverage(web, start_case, clock):
    """001/第1篇 2.3–2.5: the month's rounds, every planned point signed in and on time, in the report."""
    from tests.scenario.test_patrol import NOTHING, START

    start_case("patrol", START).complete("walk_round", "reception1", **NOTHING, checkpoints_visited=12,
                                         on_schedule=True)
    start_case("patrol", {**START, "planned_checkpoints": 8}).complete(
        "walk_round", "reception1", **NOTHING, checkpoints_visited=6, on_schedule=False)
    web.login("manager1")
    printable = web.get_text(f"/stats/report?month={clock.now():%Y-%m}&site=nanshan")
    sections = [s for s in html.fromstring(printable).find_class("report-section") if "巡查统计" in s.text_content()]
    assert len(sections) == 1 and "001/第1篇 2.3–2.5" in sections[0].text_content()
    assert "本月巡楼 2 次，签到点覆盖率 90.0%（计划 20 个，已签到 18 个）；全部签到 1 次，按时巡完 1 次。" in (
        sections[0].text_content())
    assert sections[0].find(".//*[@id='table-rounds']") is not None


def test_the_report_lists_the_new_procedures_by_their_names(web, start_case, clock):
    """Issue #18: cases of the duty emergencies, patrol and paid services are in the report's
    by-procedure table under their diagrams' names."""
    start_case("lift_failure", {}, as_user="guard1")
    start_case("patrol", {"round_area": "1栋", "planned_checkpoints": 4})
    start_case("emergency_assembly", {"trigger": "disaster", "is_drill": False, "assembly_point": "管理处门前"},
               as_user="seclead1")
    web.login("manager1")
    printable = web.get_text(f"/stats/report?month={clock.now():%Y-%m}&site=nanshan")
    by_process = html.fromstring(printable).find(".//*[@id='table-by_process']")
    names = {tr[0].text_content() for tr in by_process.iter("tr") if tr[0].tag == "td"}
    assert {"电梯故障处理", "巡楼", "紧急集合"} <= names, names
