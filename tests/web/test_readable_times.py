"""Times read as people write them (issue #16): local and 2026-12-07 07:23, never ISO text."""

from __future__ import annotations

from web.instructions import render_instructions


def test_instructions_show_stored_times_in_local_time(app):
    with app.test_request_context("/"):
        text, failed = render_instructions("接报时间：{{ received_at }}；单元：{{ unit }}",
                                           {"received_at": "2026-11-23T09:05:00+00:00", "unit": "3-2-1201"})
    assert (text, failed) == ("接报时间：2026-11-23 17:05；单元：3-2-1201", None)  # no notice: it rendered


def test_instructions_name_price_list_items_not_their_codes(web, start_case, runtime):
    from tests.scenario.test_repair import NOTIFY, ORDER, on_site, repaired_and_signed

    case = start_case("repair")
    case.complete("write_order", "reception1", **ORDER)
    case.complete("notify_engineering", "reception1", **NOTIFY)
    repaired_and_signed(on_site(case))
    for element_id, who, data in (("return_copies", "tech1", {"copies_returned": True}),
                                  ("confirm_copies", "engsup1", {"order_confirmed": True, "copy4_kept": True,
                                                                 "passed_to_desk": True}),
                                  ("return_order", "reception1", {"order_returned": True, "copy2_kept": True}),
                                  ("send_copy3", "reception1", {"copy3_sent": True})):
        case.complete(element_id, who, **data)
    web.login("finance1")
    task = case.task("collect_fee")
    page = web.get_text(f"/tasks/{task.id}")
    assert "维修项目：更换水龙头" in page and "replace_faucet" not in page
