"""Follow-up visit sampling (001/第2篇 1.3, 1.4): the rates in followup.yaml, refused below
the SOP floors at their line; the draw from the case reference, the same every time and
close to the rate over many cases; and `followup_decision()` as diagrams call it."""

from __future__ import annotations

import pytest

from engine.definitions.compiled import _diagram_helpers
from engine.definitions.library import Bundle, check_bundle
from engine.definitions.rules import load_rules
from engine.definitions.scripting import running_case
from engine.errors import DefinitionError, FormInvalid, NotFound, ScriptError
from engine.policy.followup import FOLLOWUP_FILE, decide, draw

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
    assert decide("TS-20261123-0001", "complaint", 0.5) == decide("TS-20261123-0001", "complaint", 0.5)
    assert draw("TS-20261123-0001") != draw("TS-20261123-0002")
    assert all(0 <= draw(r) < 1 for r in references(300))


def test_sampled_exactly_when_the_draw_falls_below_the_rate():
    value = draw("BX-20261123-0004")
    assert decide("BX-20261123-0004", "repair", value).sampled is False  # the rate itself is not enough
    assert decide("BX-20261123-0004", "repair", value + 1e-9).sampled is True
    assert decide("BX-20261123-0004", "repair", 1.0).sampled is True


@pytest.mark.parametrize("rate", [0.5, 0.3, 0.1, 0.6])
def test_over_thousands_of_cases_the_share_sampled_comes_close_to_the_rate(rate):
    drawn = references(6000)
    share = sum(decide(r, "complaint", rate).sampled for r in drawn) / len(drawn)
    assert abs(share - rate) < 0.025, share  # about four standard deviations at 6000 cases


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
    ("  community_event: 10%", "  community_event: 5%", 5, "below the SOP floor of 10% (001/第2篇 1.4)"),
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


def test_diagrams_get_the_decision_at_the_cases_site(library):
    helpers = _diagram_helpers(load_rules(library.rules))
    with running_case("TS-20261123-0001"):
        at_binhai = helpers({"site": "binhai"})["followup_decision"]("complaint")
        at_nanshan = helpers({"site": "nanshan"})["followup_decision"]("complaint")
    value = draw("TS-20261123-0001")
    assert at_binhai == {"category": "complaint", "rate": 0.6, "draw": value, "sampled": value < 0.6}
    assert at_nanshan == {"category": "complaint", "rate": 0.5, "draw": value, "sampled": value < 0.5}


def test_a_case_that_holds_a_decision_keeps_it(library):
    """Coming round again (dissatisfied, visited again) must not depend on a new draw."""
    helpers = _diagram_helpers(load_rules(library.rules))
    held = {"category": "complaint", "rate": 0.5, "draw": 0.25, "sampled": True}
    with running_case("TS-20261123-0004"):  # a reference the draw would pass over
        assert helpers({"site": "nanshan", "followup": held})["followup_decision"]("complaint") == held
        repair = helpers({"site": "nanshan", "followup": held})["followup_decision"]("repair")
    assert repair["category"] == "repair"  # another category is drawn afresh


def test_outside_a_case_the_helper_says_why_it_cannot_draw(library):
    decision = _diagram_helpers(load_rules(library.rules))({"site": "nanshan"})["followup_decision"]
    with pytest.raises(ScriptError, match="needs a running case"):
        decision("complaint")


def test_nobody_can_hand_a_case_its_decision(runtime):
    forged = {"category": "complaint", "rate": 0.5, "draw": 0.9, "sampled": False}
    with pytest.raises(FormInvalid) as refused:
        runtime.start_instance("complaint", {"complainant": "林先生", "followup": forged}, "reception1")
    assert [e.field for e in refused.value.errors] == ["followup"]
