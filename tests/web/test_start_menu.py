"""The header's 新建 menu (issue #16): each person sees what they may start, one tap away."""

from __future__ import annotations

import re


def _menu(page: str) -> str:
    match = re.search(r'<details class="start-menu">(.*?)</details>', page, re.S)
    return match.group(1) if match else ""


def test_a_guard_starts_a_gas_leak_from_the_header(web):
    web.login("guard1")
    menu = _menu(web.get_text("/"))
    assert 'href="/cases/new/gas_leak"' in menu and "漏气处理" in menu
    assert "/cases/new/emergency_patient" not in menu and 'href="/cases/new"' not in menu
    assert "漏气处理" in web.get_text("/cases/new/gas_leak")


def test_the_clerk_sees_the_request_for_help_first(web):
    web.login("reception1")
    menu = _menu(web.get_text("/cases"))
    links = re.findall(r'href="([^"]+)"', menu)
    assert links[0] == "/cases/new" and "新建求助" in menu
    assert "/cases/new/repair" in links


def test_no_menu_for_who_starts_nothing(web):
    web.login("auditor1")
    assert "start-menu" not in web.get_text("/")
