"""The duty desk keeps sites apart as cases do (engine/accounts/sites.py): another site's roster,
import and figures asked for by name are refused (403); its shifts and requests answer as ones
that do not exist (404); a phone system records calls for its own site only."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from engine.duty import requests
from engine.store.models import DutyRequest
from tests.scenario.duty_month import MONTH, SITE, at, desk_clerk, publish_month, shift_id
from tests.web.conftest import Api

OTHER_SITE_SUPERVISOR = "bhsup1"  # Binhai's CS supervisor; the roster is Nanshan's


@pytest.fixture
def nanshan(runtime):
    at(runtime, "2026-11-20 10:00")
    view = publish_month(runtime)
    shift, clerk = shift_id(view, "2026-12-10", "duty"), desk_clerk(view, "2026-12-10", "duty")
    requests.request_leave(runtime, shift, "家中有事", clerk)
    with runtime.db.read_session() as session:
        request_id = session.scalar(select(DutyRequest.id))
    return {"shift": shift, "request": request_id}


@pytest.mark.parametrize("path", [f"/duty/roster/{SITE}/{MONTH}", f"/duty/roster/{SITE}/{MONTH}/export.csv",
                                  f"/duty/figures/{SITE}/{MONTH}"])
def test_another_sites_roster_and_figures_are_refused(web, nanshan, path):
    web.login(OTHER_SITE_SUPERVISOR)
    answer = web.client.get(path)
    assert answer.status_code == 403 and "不在" in answer.get_data(as_text=True)
    web.logout()
    web.login("supervisor1")
    assert web.client.get(path).status_code == 200  # Nanshan's own supervisor


def test_another_sites_roster_cannot_be_saved_or_imported(web, nanshan, runtime):
    web.login("supervisor1")
    exported = web.client.get(f"/duty/roster/{SITE}/{MONTH}/export.csv").data  # Nanshan's own file
    web.logout()
    web.login(OTHER_SITE_SUPERVISOR)
    answer = web.post(f"/duty/roster/{SITE}/{MONTH}", {"version": "", "a:2026-12-10/duty": "bhsup1"})
    assert answer.status_code == 403
    answer = web.post("/duty/roster/import", {"file": (io.BytesIO(exported), "roster.csv")},
                      content_type="multipart/form-data")
    assert answer.status_code == 403


def test_another_sites_shift_and_request_answer_as_missing(web, nanshan):
    web.login(OTHER_SITE_SUPERVISOR)
    missing = web.client.get("/duty/shifts/999999")
    foreign = web.client.get(f"/duty/shifts/{nanshan['shift']}")
    assert foreign.status_code == missing.status_code == 404
    assert web.post(f"/duty/shifts/{nanshan['shift']}/leave", {"reason": "x"}).status_code == 404
    assert web.post(f"/duty/requests/{nanshan['request']}", {"action": "approve"}).status_code == 404
    web.logout()
    web.login("supervisor1")
    assert web.client.get(f"/duty/shifts/{nanshan['shift']}").status_code == 200


def test_a_phone_system_records_calls_of_its_own_site_only(client, runtime, nanshan):
    api = Api(client, runtime)
    answer = api.post("/duty/calls", "reception2", json={"event": "call_answered", "site": SITE, "rings": 2})
    assert answer.status_code == 403
