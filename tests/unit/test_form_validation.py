"""Form data checked against its JSON Schema: one message per field, each field named."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine.definitions.forms import check_times, unknown_sla_marks, validate_form_data
from engine.errors import FormInvalid

SCHEMA = {
    "type": "object", "required": ["unit"], "additionalProperties": False,
    "properties": {
        "unit": {"type": "string"},
        "rows": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                            "properties": {"name": {"type": "string"}}}},
    },
}


def _fields(data) -> dict[str, str]:
    with pytest.raises(FormInvalid) as caught:
        validate_form_data(SCHEMA, data)
    return {e.field: e.message for e in caught.value.errors}


def test_a_missing_required_field_is_named():
    assert _fields({}) == {"unit": "'unit' is a required property"}


def test_each_unknown_field_is_named_where_it_is():
    fields = _fields({"unit": "3-2-1201", "sla": "PT0S", "extra": 1, "rows": [{"name": "a", "age": 3}]})
    assert fields == {"extra": "not a field of this form", "sla": "not a field of this form",
                      "rows.0.age": "not a field of this form"}


def test_valid_data_comes_back_unchanged():
    data = {"unit": "3-2-1201", "rows": [{"name": "a"}]}
    assert validate_form_data(SCHEMA, data) is data


PROMISE = {"type": "object", "properties": {"promised_time": {"type": "string", "format": "date-time",
                                                              "x-within-sla": "complaint.resolve"}}}
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("promised, words", [
    (NOW + timedelta(days=3), None),  # the limit itself
    (NOW + timedelta(minutes=5), None),
    (NOW + timedelta(days=3, seconds=1), "不能晚于本中心规定的时限（2026-11-26 17:00）"),
    (NOW - timedelta(hours=1), "承诺的时间不能早于现在"),
])
def test_a_promise_must_lie_between_now_and_the_sites_limit(promised, words):
    limits = []

    def due(key):
        limits.append(key)
        return NOW + timedelta(days=3)

    data = {"promised_time": promised.isoformat()}
    if words is None:
        check_times(PROMISE, data, NOW, due)
    else:
        with pytest.raises(FormInvalid) as caught:
            check_times(PROMISE, data, NOW, due)
        assert [(e.field, e.zh) for e in caught.value.errors] == [("promised_time", words)]
    assert limits == ["complaint.resolve"]  # the form's target, asked at the case's site


def test_lint_names_a_promise_bound_to_no_target():
    text = "properties:\n  promised_time:\n    type: string\n    x-within-sla: complaint.resolved\n"
    forms = {"complaint/intake": {"properties": {"promised_time": {"x-within-sla": "complaint.resolved"}}}}
    [finding] = unknown_sla_marks(forms, {"complaint/intake.yaml": text}, {"complaint.resolve"})
    assert (finding.file, finding.line, finding.severity) == ("forms/complaint/intake.yaml", 4, "error")
    assert unknown_sla_marks(forms, {}, {"complaint.resolved"}) == []


def test_a_promise_without_a_time_zone_is_read_as_china_time_and_still_bounded():
    late = {"promised_time": "2026-11-26T17:01:00"}  # a minute past the limit, Shenzhen time
    with pytest.raises(FormInvalid):
        check_times(PROMISE, late, NOW, lambda key: NOW + timedelta(days=3))
    check_times(PROMISE, {"promised_time": "2026-11-26T17:00:00"}, NOW, lambda key: NOW + timedelta(days=3))
