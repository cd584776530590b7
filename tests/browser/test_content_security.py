"""A script in an uploaded SVG or XHTML file never runs in the app's origin, and the app's
own pages (bpmn-js, ECharts) work under its Content-Security-Policy (issue #20, finding 2).

Every `Desk` also fails on anything the policy refuses, so the other browser tests check
that the pages they open need nothing the policy forbids."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from engine.store.models import ProcessVersion
from tests.browser.test_stats_charts import this_month  # noqa: F401 - the dashboard's fixture

pytestmark = pytest.mark.browser

RAN = "uploaded script ran in"
SVG = f'<svg xmlns="http://www.w3.org/2000/svg"><script>console.log("{RAN} " + document.domain)</script></svg>'
XHTML = ('<html xmlns="http://www.w3.org/1999/xhtml"><body>'
         f'<script>console.log("{RAN} " + document.domain)</script></body></html>')
DEPLOY = """async ({xml}) => {
  const token = document.querySelector("input[name=csrf_token]").value;
  const response = await fetch("/processes/water_leak/deploy", {method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token},
    body: JSON.stringify({xml: xml, note: "looks like a diagram"})});
  return [response.status, await response.json()];
}"""


def console_of(desk) -> list[str]:
    messages: list[str] = []
    desk.page.on("console", lambda message: messages.append(message.text))
    return messages


@pytest.mark.parametrize(("xml", "root"), [(SVG, "svg"), (XHTML, "html")])
def test_a_designer_cannot_deploy_an_svg_or_xhtml_page(desk, live_app, xml, root):
    desk.login("designer1")
    desk.page.goto("/processes/water_leak/versions")
    desk.loaded()
    status, body = desk.page.evaluate(DEPLOY, {"xml": xml})
    assert status == 400
    assert body["detail"] == f"water_leak.bpmn 不是 BPMN 流程图（根元素是 <{root}>），未保存"
    desk.page.reload()
    assert desk.page.locator("ol.versions > li").count() == 1


def keep_legacy_version(runtime, xml: str) -> int:
    """A documentation version holding `xml`, as versions were kept before roots were checked."""
    with runtime.transaction() as session:
        session.add(ProcessVersion(process_id="water_leak", version=2, name="浸水处理", content_hash="0" * 64,
                                   bpmn_file="water_leak.bpmn", bpmn_xml=xml, spec_json="", assets={},
                                   executable=False, created_at=datetime.now(timezone.utc),
                                   created_by="designer1", note="kept before the check"))
    return 2


@pytest.mark.parametrize("who", ["manager1", "auditor1"])
def test_an_old_svg_version_is_downloaded_and_its_script_never_runs(open_desk, live_app, who):
    version = keep_legacy_version(live_app.runtime, SVG)
    desk = open_desk()
    console = console_of(desk)
    desk.login(who)
    desk.page.goto("/processes/water_leak/versions")
    desk.loaded()
    link = desk.page.locator("ol.versions > li", has_text=f"v{version}").get_by_role("link", name="BPMN")
    with desk.page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "water_leak.bpmn"
    assert "<script>" in open(download.value.path(), encoding="utf-8").read()
    desk.page.wait_for_timeout(500)  # time enough for a script to have run, had it been loaded
    assert desk.page.url.endswith("/processes/water_leak/versions")
    assert not [m for m in console if RAN in m]
    desk.loaded()


def test_markup_slipped_into_a_page_cannot_run_script(desk, live_app):
    console = console_of(desk)
    desk.login("reception1")
    desk.page.evaluate(f"""() => {{
        document.querySelector("main").insertAdjacentHTML("beforeend",
            '<img src="/nothing.png" onerror="console.log(\\'{RAN} \\' + document.domain)">');
    }}""")
    desk.page.wait_for_timeout(500)
    assert not [m for m in console if RAN in m]
    assert [p for p in desk.problems if "Content-Security-Policy" in p], "the inline handler was not refused"


def test_chart_tooltips_are_drawn_under_the_policy(desk, this_month):  # noqa: F811 - the fixture
    desk.login("manager1")
    desk.page.goto("/stats")
    chart = desk.page.locator("#chart-trend")
    chart.locator("canvas").first.wait_for()
    box = chart.bounding_box()
    desk.page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.6)
    tooltip = chart.locator("div", has_text=re.compile(r"^\d{4}-\d{2}$")).last
    tooltip.wait_for()
    assert tooltip.evaluate("el => getComputedStyle(el).lineHeight") != "normal"  # its inline style applied
    desk.loaded()
