"""Times read as people write them (issue #16): local and 2026-12-07 07:23, never ISO text."""

from __future__ import annotations

from web.instructions import render_instructions


def test_instructions_show_stored_times_in_local_time(app):
    with app.test_request_context("/"):
        text, failed = render_instructions("接报时间：{{ received_at }}；单元：{{ unit }}",
                                           {"received_at": "2026-11-23T09:05:00+00:00", "unit": "3-2-1201"})
    assert (text, failed) == ("接报时间：2026-11-23 17:05；单元：3-2-1201", None)  # no notice: it rendered


def test_instructions_name_price_list_items_not_their_codes(web, start_case, runtime):
    from tests.scenario.test_repair import CHECK, NOTIFY, ORDER, T

    case = start_case("repair")
    for element_id, who, data in (("write_order", "reception1", ORDER), ("notify_engineering", "reception1", NOTIFY),
                                  ("arrive_now", "tech1", {"arrived_at": T}), ("check_order", "tech1", CHECK),
                                  ("do_repair", "tech1", {"quantity": 1, "repair_notes": "更换水龙头",
                                                          "completed_at": T}),
                                  ("resident_sign", "resident1", {"tested": True, "resident_signature": True})):
        case.complete(element_id, who, **data)
    web.login("finance1")
    task = case.task("collect_fee")
    page = web.get_text(f"/tasks/{task.id}")
    assert "维修项目：更换水龙头" in page and "replace_faucet" not in page
