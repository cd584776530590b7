"""001/第8篇 4.1 7) in the inbox: the copies the technician owes by 17:00 wait in their own inbox
with that time, and copy 3 waits at the desk until the end of the 25th."""

from __future__ import annotations

import re


def _row(page: str, name: str) -> str:
    rows = [row for row in re.findall(r"<tr.*?</tr>", page, flags=re.S) if name in row]
    assert len(rows) == 1, f"{name} in {len(rows)} inbox rows"
    return rows[0]


def test_the_paperwork_waits_in_the_right_inboxes_with_its_deadline(web, start_case, runtime):
    from tests.scenario.test_repair import NOTIFY, ORDER, on_site, repaired_and_signed

    case = start_case("repair")
    case.complete("write_order", "reception1", **ORDER)
    case.complete("notify_engineering", "reception1", **NOTIFY)
    repaired_and_signed(on_site(case))  # at 17:00 in Shenzhen: the day's hand-in has passed
    web.login("tech1")
    row = _row(web.get_text("/"), "维修单第二、三联交回工程部主管")
    assert case.reference in row and "2026-11-24 17:00" in row
    web.logout()
    case.complete("return_copies", "tech1", copies_returned=True)
    case.complete("confirm_copies", "engsup1", order_confirmed=True, copy4_kept=True, passed_to_desk=True)
    case.complete("return_order", "reception1", order_returned=True, copy2_kept=True)
    web.login("reception1")
    row = _row(web.get_text("/"), "第三联送财务部")
    assert case.reference in row and "2026-11-25 23:59" in row  # by the end of the 25th
