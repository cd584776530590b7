"""The case page tells how each notification fared on each channel, and its record lists the
deliveries, in Chinese and English."""

from __future__ import annotations

import re

import pytest
from notify_peers import DINGTALK_SECRET, Reply, RobotPeer

from engine.channels.sender import ChannelSender


@pytest.fixture
def peer(monkeypatch, runtime):
    server = RobotPeer().start()
    for name, value in {"NANSHAN_DINGTALK_WEBHOOK": server.url("/dingtalk") + "?access_token=t",
                        "NANSHAN_DINGTALK_SECRET": DINGTALK_SECRET, "NANSHAN_SMS_URL": server.url("/sms"),
                        "NANSHAN_SMS_TOKEN": "Bearer t"}.items():
        monkeypatch.setenv(name, value)
    runtime.sender = ChannelSender()  # the worker's sender, on the app's runtime
    yield server
    server.stop()


def dispatched(cases):
    case = cases.start()
    cases.complete(case.id, "choose_help", "reception1", help_type="hospital")
    cases.complete(case.id, "notify_security_lead", "reception1")
    cases.complete(case.id, "dispatch_guards", "seclead1")
    return case


def delivery_rows(page: str) -> list[str]:
    section = re.search(r'<section class="card" id="deliveries">.*?</section>', page, re.S)
    assert section, "no delivery section on the case page"
    return [re.sub(r"<[^>]+>", " ", row) for row in re.findall(r'<tr class="delivery-.*?</tr>', section.group(0), re.S)]


def test_the_case_page_shows_each_delivery_sent_or_failing_with_the_error(web, cases, runtime, peer, clock):
    peer.then("/sms", Reply(500, "gateway down"))  # the first SMS (the security lead's) fails once
    case = dispatched(cases)
    runtime.fire_due_timers()
    web.login("supervisor1")
    page = web.get_text(f"/cases/{case.reference}")
    rows = delivery_rows(page)
    assert len(rows) == 6
    lead_sms = [r for r in rows if "刘队长" in r and " sms " in r]
    assert len(lead_sms) == 1 and "第 1 次失败，17:00:10 重试" in lead_sms[0] and "HTTP 500: gateway down" in lead_sms[0]
    guard_posts = [r for r in rows if "security_group" in r and "赵刚" in r]
    assert len(guard_posts) == 1 and "已送达 17:00:00" in guard_posts[0] and "请立即到病人家中待命" in guard_posts[0]
    # The record tells the same: each delivery is an audit event on the case.
    assert "通知已送达" in page and "通知发送失败" in page and "<dt>下次重试</dt><dd>17:00:10</dd>" in page

    clock.advance(seconds=10)
    runtime.fire_due_timers()
    assert all("已送达" in r for r in delivery_rows(web.get_text(f"/cases/{case.reference}")))


def test_the_delivery_section_in_english(web, client, cases, runtime, peer):
    case = dispatched(cases)
    runtime.fire_due_timers()
    client.get("/lang/en")
    web.login("supervisor1")
    page = web.get_text(f"/cases/{case.reference}")
    rows = delivery_rows(page)
    assert "Notification delivery" in page and all("Sent 17:00:00" in r for r in rows)
    assert any("stand by now at: Patient" in r for r in rows)  # the form's English label of the place
    assert "Notification delivered" in page


def test_a_case_without_notifications_has_no_delivery_section(web, cases):
    case = cases.start()
    web.login("reception1")
    assert 'id="deliveries"' not in web.get_text(f"/cases/{case.reference}")
