"""Follow-up visit sampling (001/第2篇 1.3–1.5): the rates in followup.yaml, refused below
the SOP floors at their line; the draw from the case reference, the same every time; the
month's quota, which never lets the running share end below the floor; and
`followup_decision()` as diagrams call it."""

from __future__ import annotations

import pytest

from engine.definitions.compiled import _diagram_helpers
from engine.definitions.library import Bundle, check_bundle
from engine.definitions.rules import load_rules
from engine.definitions.scripting import running_case
from engine.errors import DefinitionError, FormInvalid, NotFound, ScriptError
from engine.policy.followup import FOLLOWUP_FILE, decide, draw, quota

VALID = """\
clause: 001/第2篇 1.3; 001/第2篇 1.4
rates:
  complaint: 50%
  repair: 30%
  community_event: 10%
site_overrides:
  binhai:
    complaint: 60%
"""


def rules_with(library, text: str):
    return load_rules({**library.rules, "followup.yaml": text})


def findings_for(library, text: str):
    with pytest.raises(DefinitionError) as caught:
        rules_with(library, text)
    return [(f.file, f.line, f.message) for f in caught.value.findings]


def references(count: int) -> list[str]:
    """Complaint-like references over many days, as the desk hands them out."""
    return [f"TS-202611{day:02d}-{number:04d}" for day in range(1, 31) for number in range(1, count // 30 + 1)]


# -- the draw ---------------------------------------------------------------------------------


def test_the_same_reference_always_draws_the_same():
    assert draw("TS-20261123-0001") == draw("TS-20261123-0001")
    assert decide("TS-20261123-0001", "complaint", 0.5, "2026-11", 3, 1) == decide(
        "TS-20261123-0001", "complaint", 0.5, "2026-11", 3, 1)
    assert draw("TS-20261123-0001") != draw("TS-20261123-0002")
    assert all(0 <= draw(r) < 1 for r in references(300))


def test_with_room_above_the_floor_the_draw_decides():
    value = draw("BX-20261123-0004")
    rate = value  # the rate itself is not enough: sampled only when the draw falls below it
    assert decide("BX-20261123-0004", "repair", rate, "2026-11", 2, 2).by == ""
    assert decide("BX-20261123-0004", "repair", value + 1e-9, "2026-11", 2, 2).by == "draw"
    assert decide("BX-20261123-0004", "repair", 1.0, "2026-11", 2, 0).sampled is True


def test_a_case_the_floor_needs_is_visited_whatever_its_draw():
    assert draw("TS-20261123-0001") >= 0.5  # the draw alone would pass it over
    first = decide("TS-20261123-0001", "complaint", 0.5, "2026-11", 1, 0)
    assert (first.sampled, first.by) == (True, "quota")  # 0 of 1 visited would be below 50 %
    third = decide("TS-20261123-0001", "complaint", 0.5, "2026-11", 3, 1)
    assert (third.sampled, third.by) == (True, "quota")  # 1 of 3 is below 50 %
    fourth = decide("TS-20261123-0001", "complaint", 0.5, "2026-11", 4, 2)
    assert (fourth.sampled, fourth.by) == (False, "")  # 2 of 4 is 50 %: the floor holds


@pytest.mark.parametrize("rate, decided, needed", [(0.5, 1, 1), (0.5, 2, 1), (0.5, 3, 2), (0.3, 10, 3),
                                                   (0.3, 11, 4), (0.1, 9, 1), (0.1, 10, 1), (0.6, 5, 3)])
def test_the_quota_is_the_fewest_visits_at_or_above_the_rate(rate, decided, needed):
    assert quota(rate, decided) == needed


def month(refs: list[str], rate: float) -> list[bool]:
    """Decide `refs` in order as one site's month, as the tally counts them."""
    sampled: list[bool] = []
    for ordinal, reference in enumerate(refs, start=1):
        sampled.append(decide(reference, "complaint", rate, "2026-11", ordinal, sum(sampled)).sampled)
    return sampled


@pytest.mark.parametrize("rate", [0.5, 0.3, 0.1, 0.6])
def test_the_running_share_never_falls_below_the_floor_and_stays_close_to_it(rate):
    drawn = month(references(3000), rate)
    for count in range(1, len(drawn) + 1):  # the month may end after any case
        assert sum(drawn[:count]) >= rate * count - 1e-9, count
    share = sum(drawn) / len(drawn)
    assert rate <= share < rate + 0.03, share  # the quota tops up; it does not double the work


def test_a_pure_draw_at_the_rate_ends_many_months_below_the_floor():
    """Why the quota: with the draw alone, about half the months end under 50 %."""
    months = [[f"TS-2026{m:02d}{d:02d}-{n:04d}" for d in range(1, 29) for n in range(1, 3)] for m in range(1, 13)]
    below = [refs for refs in months if sum(draw(r) < 0.5 for r in refs) < 0.5 * len(refs)]
    assert below  # the old way failed the SOP in some months
    assert all(sum(month(refs, 0.5)) >= 0.5 * len(refs) for refs in months)


# -- followup.yaml ----------------------------------------------------------------------------


def test_the_library_rates_and_a_site_override(library):
    policy = load_rules(library.rules).followup
    assert policy.rate("nanshan", "complaint") == 0.5
    assert policy.rate("nanshan", "repair") == 0.3
    assert policy.rate("nanshan", "community_event") == 0.1
    assert policy.rate("binhai", "complaint") == 0.6  # overridden
    assert policy.rate("binhai", "repair") == 0.3  # not overridden: the default rate
    with pytest.raises(NotFound, match="no follow-up rate for 'moving'"):
        policy.rate("nanshan", "moving")


@pytest.mark.parametrize("old, new, line, message", [
    ("  complaint: 50%", "  complaint: 40%", 3, "complaint rate 40% is below the SOP floor of 50% (001/第2篇 1.3)"),
    ("  repair: 30%", "  repair: 29.5%", 4, "repair rate 29.5% is below the SOP floor of 30% (001/第2篇 1.4)"),
    ("  community_event: 10%", "  community_event: 5%", 5, "below the SOP floor of 10% (001/第2篇 1.5)"),
    ("    complaint: 60%", "    complaint: 45%", 8, "complaint rate 45% is below the SOP floor of 50%"),
    ("  binhai:", "  beihai:", 7, "unknown site 'beihai'"),
    ("    complaint: 60%", "    complain: 60%", 8, "override of unknown category 'complain'"),
    ("  complaint: 50%", "  complaint: fifty", 3, "'fifty' does not match"),
    ("  complaint: 50%", "  complaint: 150%", 3, "'150%' does not match"),
    ("  repair: 30%\n", "", 2, "'repair' is a required property"),
    ("clause: 001/第2篇 1.3; 001/第2篇 1.4\n", "", 1, "'clause' is a required property"),
    ("  complaint: 50%", "  complaint: [50%", 4, "invalid YAML"),
])
def test_a_bad_rate_is_reported_at_its_line(library, old, new, line, message):
    assert old in VALID
    found = findings_for(library, VALID.replace(old, new, 1))
    assert any(file == FOLLOWUP_FILE and at == line and message in text for file, at, text in found), found


def test_lint_reports_a_rate_below_the_floor_with_file_and_line(library):
    bundle = Bundle(library.bpmn, library.dmn, library.forms, dict(library.rules))
    bundle.rules["followup.yaml"] = VALID.replace("  repair: 30%", "  repair: 20%")
    errors = [str(f) for f in check_bundle(bundle).findings if f.file == FOLLOWUP_FILE]
    assert errors == [f"{FOLLOWUP_FILE}:4: rates.repair: error: repair rate 20% is below the SOP floor of 30% "
                      "(001/第2篇 1.4)"]


def test_a_site_may_visit_every_case(library):
    rules = rules_with(library, VALID.replace("  repair: 30%", "  repair: 100%"))
    assert rules.followup.rate("nanshan", "repair") == 1.0


# -- followup_decision() in diagrams ----------------------------------------------------------


class MemoryTally:
    """The month's tally as a dict, standing in for the step transaction's."""

    def __init__(self):
        self.counts: dict[tuple, list[int]] = {}

    def take(self, site, category, month):
        counts = self.counts.setdefault((site, category, month), [0, 0])
        counts[0] += 1
        return counts[0], counts[1]

    def mark_sampled(self, site, category, month):
        self.counts[(site, category, month)][1] += 1


def test_diagrams_get_the_decision_at_the_cases_site_and_month(library):
    helpers = _diagram_helpers(load_rules(library.rules))
    tally = MemoryTally()
    with running_case("TS-20261123-0001", tally):
        at_binhai = helpers({"site": "binhai"})["followup_decision"]("complaint")
        at_nanshan = helpers({"site": "nanshan"})["followup_decision"]("complaint")
    value = draw("TS-20261123-0001")
    month_now = at_nanshan["month"]
    assert at_binhai == decide("TS-20261123-0001", "complaint", 0.6, month_now, 1, 0).as_data()
    assert at_nanshan == decide("TS-20261123-0001", "complaint", 0.5, month_now, 1, 0).as_data()
    assert at_nanshan["draw"] == value and at_nanshan["sampled"] is True  # each site's first of the month
    assert tally.counts == {("binhai", "complaint", month_now): [1, 1], ("nanshan", "complaint", month_now): [1, 1]}


def test_a_case_that_holds_a_decision_keeps_it(library):
    """Coming round again (dissatisfied, visited again) must not depend on a new draw or count twice."""
    helpers = _diagram_helpers(load_rules(library.rules))
    held = decide("TS-20261123-0004", "complaint", 0.5, "2026-11", 2, 1).as_data()
    tally = MemoryTally()
    with running_case("TS-20261123-0004", tally):
        assert helpers({"site": "nanshan", "followup": held})["followup_decision"]("complaint") == held
        assert tally.counts == {}
        repair = helpers({"site": "nanshan", "followup": held})["followup_decision"]("repair")
    assert repair["category"] == "repair"  # another category is drawn afresh


def test_outside_a_case_the_helper_says_why_it_cannot_draw(library):
    decision = _diagram_helpers(load_rules(library.rules))({"site": "nanshan"})["followup_decision"]
    with pytest.raises(ScriptError, match="needs a running case"):
        decision("complaint")
    with running_case("TS-20261123-0001"), pytest.raises(ScriptError, match="counts the month's decisions"):
        decision("complaint")


def test_nobody_can_hand_a_case_its_decision(runtime):
    forged = decide("TS-20261123-0001", "complaint", 0.5, "2026-11", 2, 1).as_data()
    with pytest.raises(FormInvalid) as refused:
        runtime.start_instance("complaint", {"complainant": "林先生", "followup": forged}, "reception1")
    assert [e.field for e in refused.value.errors] == ["followup"]


def test_a_case_drawn_before_the_quota_keeps_its_decision_and_is_not_counted(library):
    """A case running when the quota was deployed holds the old four fields: it comes round
    again (a second visit) on its own decision, never a new draw that would count in the month."""
    helpers = _diagram_helpers(load_rules(library.rules))
    legacy = {"category": "complaint", "rate": 0.5, "draw": 0.25, "sampled": True}
    tally = MemoryTally()
    with running_case("TS-20261123-0004", tally):
        assert helpers({"site": "nanshan", "followup": legacy})["followup_decision"]("complaint") == legacy
    assert tally.counts == {}


def test_a_script_opens_a_visit_case_with_its_fields_but_never_its_decision(library):
    """`open_case("customer_visit", {...})` (community_event.bpmn, move_in.bpmn): the hand-over
    fields plus plain values; a forged decision, another site or nested data is refused."""
    open_case = _diagram_helpers(load_rules(library.rules))({"site": "binhai", "unit": "5栋", "x": 1})["open_case"]
    with running_case("WH-20261123-0001", MemoryTally()) as requested:
        open_case("customer_visit", {"visit_kind": "community_event", "resident": "林先生"})
        for bad in ({"followup": "sampled"}, {"site": "nanshan"}, {"resident": {"name": "林先生"}}):
            with pytest.raises(ScriptError):
                open_case("customer_visit", bad)
    assert requested == [("customer_visit", {"site": "binhai", "unit": "5栋", "visit_kind": "community_event",
                                             "resident": "林先生"}, None)]  # no runtime: no reference reserved
