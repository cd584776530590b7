"""Times read as people write them (issue #16): local and 2026-12-07 07:23, never ISO text."""

from __future__ import annotations

from web.tasks import render_instructions


def test_instructions_show_stored_times_in_local_time(app):
    with app.test_request_context("/"):
        text, failed = render_instructions("接报时间：{{ received_at }}；单元：{{ unit }}",
                                           {"received_at": "2026-11-23T09:05:00+00:00", "unit": "3-2-1201"})
    assert (text, failed) == ("接报时间：2026-11-23 17:05；单元：3-2-1201", False)
