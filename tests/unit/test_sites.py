"""Sites apart (issue 20, finding 4): each 管理处's staff work on their own site's cases; the
runtime refuses the rest as if they did not exist, and people declared company-wide in
staff.yaml work on every site's."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from engine.accounts import sites
from engine.accounts.staff import apply_staff
from engine.accounts.users import SYSTEM, Actor, load_actor
from engine.audit.search import AuditFilter, search_events
from engine.definitions.library import deploy_bundle
from engine.definitions.rules import load_rules
from engine.errors import DefinitionError, NotFound, SiteRefused
from engine.runtime.queries import get_instance_row, get_task, list_tasks
from engine.scheduling.outbox import list_notifications, notify
from engine.scheduling.recipients import RecipientQuery, RoleHolders
from engine.store.models import Event, User

CALL = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000"}
CHOOSE = {"caller": "林先生", "unit": "3-2-1201", "phone": "13800000000", "condition": "晕倒",
          "help_type": "call_120", "major": False}


def start(runtime, user, **data):
    return runtime.start_instance("emergency_patient", {**CALL, **data}, user)


@pytest.fixture
def binhai(runtime):
    """A case Binhai's clerk opened (at Binhai, their own site), with its first task."""
    result = start(runtime, "reception2")
    return result.instance, result.open_tasks[0]


def event_count(runtime) -> int:
    with runtime.db.session() as session:
        return session.scalar(select(func.count(Event.id)))


def actor(site=None, company_wide=False) -> Actor:
    return Actor("someone", "某人", frozenset({"reception"}), site, company_wide)


@pytest.mark.parametrize(("who", "seen"), [
    (actor("nanshan"), {"nanshan"}),
    (actor("binhai"), {"binhai"}),
    (actor("nanshan", company_wide=True), {"nanshan", "binhai"}),
    (actor(None, company_wide=True), {"nanshan", "binhai"}),
    (actor(None), set()),  # neither a site nor declared company-wide: nothing (fails closed)
    (SYSTEM, {"nanshan", "binhai"}),  # the server's own steps: timers, the CLI
])
def test_who_sees_which_sites(who, seen):
    assert {site for site in ("nanshan", "binhai") if sites.covers(who, site)} == seen


def test_demo_staff_work_at_two_sites_and_the_company_wide_are_declared(runtime):
    with runtime.db.session() as session:
        people = {u: load_actor(session, u) for u in ("reception1", "reception2", "bhsup1", "gm1", "auditor1",
                                                       "designer1", "manager1")}
    assert (people["reception1"].site, people["reception2"].site, people["bhsup1"].site) == (
        "nanshan", "binhai", "binhai")
    assert {u for u, a in people.items() if a.company_wide} == {"gm1", "auditor1", "designer1"}


def test_a_case_opens_at_the_clerks_own_site_unless_they_say(runtime):
    assert start(runtime, "reception2").instance.site == "binhai"
    assert start(runtime, "reception1").instance.site == "nanshan"


def test_a_clerk_may_not_open_a_case_for_another_site(runtime):
    before = event_count(runtime)
    with pytest.raises(SiteRefused) as refused:
        start(runtime, "reception1", site="binhai")
    assert refused.value.site == "binhai"
    assert event_count(runtime) == before  # nothing started, nothing recorded


@pytest.mark.parametrize("step", ["claim", "complete", "unclaim", "comment", "message", "cancel", "retry",
                                  "migrate"])
def test_the_runtime_refuses_another_sites_case_as_if_it_did_not_exist(runtime, binhai, step):
    case, task = binhai
    if step == "unclaim":
        runtime.claim_task(task.id, "reception2")
    before = event_count(runtime)
    calls = {
        "claim": lambda: runtime.claim_task(task.id, "reception1"),
        "complete": lambda: runtime.complete_task(task.id, CHOOSE, "reception1"),
        "unclaim": lambda: runtime.unclaim_task(task.id, "supervisor1"),
        "comment": lambda: runtime.add_comment(case.reference, {"text": "看看"}, "reception1"),
        "message": lambda: runtime.send_message(case.id, "ambulance_arrived", {}, "guard1"),
        "cancel": lambda: runtime.cancel_instance(case.id, "误报", "supervisor1"),
        "retry": lambda: runtime.retry_instance(case.id, {}, "manager1"),
        "migrate": lambda: runtime.migrate_instance(case.reference, 2, "manager1"),
    }
    with pytest.raises(NotFound) as refused:
        calls[step]()
    assert "does not exist" in str(refused.value)
    assert event_count(runtime) == before
    with runtime.db.session() as session:
        assert get_task(session, task.id).status == ("claimed" if step == "unclaim" else "ready")


def test_a_supervisor_may_not_reassign_another_sites_task(runtime, binhai):
    _case, task = binhai
    with pytest.raises(NotFound):
        runtime.reassign_task(task.id, "reception2", "supervisor1")


def test_a_task_goes_only_to_someone_at_its_cases_site(runtime):
    task = start(runtime, "reception1").open_tasks[0]
    with pytest.raises(SiteRefused):
        runtime.reassign_task(task.id, "reception2", "supervisor1")  # a Binhai clerk
    moved = runtime.reassign_task(task.id, "reception3", "supervisor1")
    assert moved.assignee == "reception3"


def test_the_sites_own_staff_and_the_company_wide_work_on_its_cases(runtime, binhai):
    case, task = binhai
    runtime.reassign_task(task.id, "reception2", "bhsup1")
    runtime.unclaim_task(task.id, "gm1")  # the company manager, at every site
    runtime.claim_task(task.id, "reception2")
    result = runtime.complete_task(task.id, CHOOSE, "reception2")
    assert result.instance.site == "binhai"
    assert runtime.add_comment(case.reference, {"text": "已核实"}, "gm1").reference == case.reference


def test_queries_given_a_viewer_keep_to_their_sites(runtime, binhai):
    case, task = binhai
    nanshan_task = start(runtime, "reception1").open_tasks[0]
    with runtime.db.session() as session:
        clerk, gm = load_actor(session, "reception1"), load_actor(session, "gm1")
        assert {t.id for t in list_tasks(session, roles=["reception"], viewer=clerk)} == {nanshan_task.id}
        assert {t.id for t in list_tasks(session, roles=["reception"], viewer=gm)} == {nanshan_task.id, task.id}
        with pytest.raises(NotFound):
            get_instance_row(session, case.reference, viewer=clerk)
        with pytest.raises(NotFound):
            get_task(session, task.id, viewer=clerk)
        assert get_task(session, task.id, viewer=gm).site == "binhai"


def test_the_audit_search_keeps_to_the_sites_given(runtime, binhai):
    case, _task = binhai
    with runtime.db.session() as session:
        nanshan_only = search_events(session, AuditFilter(within_sites=frozenset({"nanshan"})), limit=1000)
        everything = search_events(session, AuditFilter(), limit=1000)
    assert case.reference not in {row.reference for row in nanshan_only}
    assert case.reference in {row.reference for row in everything}


def test_the_bell_shows_role_messages_of_the_persons_sites_only(runtime):
    with runtime.transaction() as session:
        for site in ("nanshan", "binhai"):
            notify(session, runtime.clock.now(), text=f"{site} 待办", text_en=f"{site} task",
                   to_role="cs_supervisor", site=site)
    with runtime.db.session() as session:
        seen = {u: {n.text for n in list_notifications(session, load_actor(session, u))}
                for u in ("supervisor1", "bhsup1")}
    assert seen == {"supervisor1": {"nanshan 待办"}, "bhsup1": {"binhai 待办"}}


def staff_yaml(library, line: str):
    text = library.rules["staff.yaml"] + line
    return replace(library, rules={**library.rules, "staff.yaml": text})


@pytest.mark.parametrize(("line", "message"), [
    ("  - {username: nosite1, name: 无站, roles: [reception]}\n", "nosite1: error: give the site they work at, or declare"),
    ("  - {username: lost1, name: 迷路, roles: [reception], site: atlantis}\n", "unknown site 'atlantis'"),
])
def test_everyone_in_staff_yaml_has_a_known_site_or_is_declared_company_wide(library, line, message):
    with pytest.raises(DefinitionError) as refused:
        load_rules(staff_yaml(library, line).rules)
    assert message in str(refused.value)


def test_declaring_someone_company_wide_is_a_recorded_staff_change(runtime, library):
    edited = replace(library, rules={**library.rules, "staff.yaml": library.rules["staff.yaml"].replace(
        "{username: manager1, name: 陈经理, roles: [manager], site: nanshan,",
        "{username: manager1, name: 陈经理, roles: [manager], site: nanshan, company_wide: true,")})
    with runtime.transaction() as session:
        changes = apply_staff(session, edited, actor="designer1")
    assert [(c.username, c.data) for c in changes] == [("manager1", {"changes": {"company_wide": [False, True]}})]
    with runtime.db.session() as session:
        assert load_actor(session, "manager1").company_wide
        assert session.scalar(select(User.company_wide).where(User.username == "reception1")) is False


def test_a_deploy_keeps_the_declaration(runtime, library):
    with runtime.transaction() as session:
        deploy_bundle(session, library, actor="designer1")
    with runtime.db.session() as session:
        assert load_actor(session, "gm1").company_wide and not load_actor(session, "manager1").company_wide


def test_a_task_may_be_given_to_its_sites_holders_of_the_role_and_the_company_wide(runtime):
    with runtime.db.session() as session:
        found = sites.colleagues(session, {("reception", "nanshan"), ("manager", "binhai")})
    assert [u for u, _name in found[("reception", "nanshan")]] == ["reception1", "reception3"]
    assert [u for u, _name in found[("manager", "binhai")]] == ["bhmgr1", "gm1"]


@pytest.mark.parametrize(("site", "managers"), [("nanshan", ["gm1", "manager1"]), ("binhai", ["bhmgr1", "gm1"])])
def test_a_message_to_a_role_reaches_its_holders_at_the_site_and_the_company_wide(runtime, site, managers):
    query = RecipientQuery("manager", site, runtime.clock.now(), after_hours=False, emergency=False)
    with runtime.db.session() as session:
        assert RoleHolders().recipients(session, query) == managers
