"""Form data checked against its JSON Schema: one message per field, each field named."""

from __future__ import annotations

import pytest

from engine.definitions.forms import validate_form_data
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
