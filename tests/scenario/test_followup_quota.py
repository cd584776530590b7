"""The follow-up floor holds per site and month (001/第2篇 1.3 "回访率达50%", 1.4 30 %).

A month of complaints closed at both sites, one or two a day: each site's month ends at or
above its floor (Nanshan 50 %, Binhai 60 %), and so does every day of it, because the quota
tops the reference draw up. Every decision is in the audit trail with what an auditor needs
to redo it: the reference, its ordinal in the site's month and the visits before it.
"""

from datetime import timedelta

from engine.audit.events import EventType
from engine.policy import followup
from tests.scenario.conftest import SITE_STAFF

INTAKE = dict(complainant="林先生", unit="3栋12楼1203", phone="13800000000", anonymous=False,
              subject="绿化带无人修剪", description="楼下绿化带一个月无人修剪", basis="contract_duty_not_met",
              department="environment", serious=False, repeated_back=True, reported_to_head=True)
HANDLED = dict(promised_time="2026-12-01T09:05:00+00:00", result="已修剪", reported_to_reception=True)
RESULT = dict(result_recorded="已修剪，投诉人确认", complainant_signed=True, rating="satisfied", severity="ordinary")


def close_complaint(start_case, site: str):
    """Take in, handle and close one complaint at `site`: the step that closes it draws."""
    staff = SITE_STAFF[site]
    case = start_case("complaint", {"complainant": "林先生", "site": site}, as_user=staff["reception"])
    promised = (case.runtime.clock.now() + timedelta(days=1)).isoformat()  # 003 5.2: told at intake
    case.complete("intake", staff["reception"], **INTAKE, promised_time=promised)
    case.complete("handle_environment", staff["environment"], **HANDLED)
    case.complete("record_result", staff["reception"], **RESULT)
    [event] = case.events(EventType.FOLLOWUP_DECIDED)
    visit_open = [t.element_id for t in case.open_tasks()] == ["visit_ordinary"]
    assert visit_open == event.data["sampled"]  # the decision is the path the case took
    return case, event.data


def replay(references: list[str], rate: float, month: str) -> list[bool]:
    """The auditor's redo: the month's decisions from its references in order, nothing else."""
    sampled: list[bool] = []
    for ordinal, reference in enumerate(references, start=1):
        sampled.append(followup.decide(reference, "complaint", rate, month, ordinal, sum(sampled)).sampled)
    return sampled


def test_a_month_of_complaints_ends_at_or_above_the_floor_at_every_site(start_case, runtime, month_tally,
                                                                          followup_rate):
    runtime.clock.set(runtime.clock.now().replace(year=2026, month=12, day=1, hour=1))  # 09:00 in Shenzhen
    decided = {"nanshan": [], "binhai": []}
    for day in range(31):
        for site in ("nanshan", "binhai") if day % 3 else ("nanshan", "binhai", "nanshan"):
            case, data = close_complaint(start_case, site)
            decided[site].append((case.reference, data))
        for site, cases in decided.items():  # whenever the month ends, it ends at or above the floor
            assert sum(d["sampled"] for _, d in cases) >= followup_rate("complaint", site) * len(cases) - 1e-9
        runtime.clock.advance(days=1)
    assert runtime.clock.now().month == 1  # the month is over

    for site, cases in decided.items():
        rate = followup_rate("complaint", site)
        sampled = [d["sampled"] for _, d in cases]
        assert [d["month"] for _, d in cases] == ["2026-12"] * len(cases)
        assert [d["ordinal"] for _, d in cases] == list(range(1, len(cases) + 1))
        assert [d["sampled_before"] for _, d in cases] == [sum(sampled[:i]) for i in range(len(cases))]
        assert sum(sampled) >= rate * len(cases)
        assert sum(sampled) <= rate * len(cases) + 0.15 * len(cases)  # topped up, not every case
        assert {d["by"] for _, d in cases if d["sampled"]} == {"draw", "quota"}  # both did their part
        assert all(d["by"] == "" for _, d in cases if not d["sampled"])
        # the same cases give the same draw on a rerun: the trail redone from the references alone
        assert replay([r for r, _ in cases], rate, "2026-12") == sampled
        assert month_tally.key("complaint", site)[2] == "2027-01"
    assert month_tally("complaint", "nanshan") == (0, 0)  # January starts afresh
    assert (followup_rate("complaint", "nanshan"), followup_rate("complaint", "binhai")) == (0.5, 0.6)


def test_a_new_month_starts_its_own_count(start_case, runtime, month_tally):
    runtime.clock.set(runtime.clock.now().replace(year=2026, month=12, day=31, hour=15, minute=30))  # 23:30 local
    _, december = close_complaint(start_case, "nanshan")
    runtime.clock.advance(hours=1)  # 00:30 on 1 January in Shenzhen, still 31 December in UTC
    _, january = close_complaint(start_case, "nanshan")
    assert (december["month"], december["ordinal"]) == ("2026-12", 1)
    assert (january["month"], january["ordinal"], january["sampled_before"]) == ("2027-01", 1, 0)
    assert january["sampled"] is True  # the first of a month: nothing before it to carry the floor
