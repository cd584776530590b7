"""JSON Schema forms on the server: every field kind, parsed back into typed JSON."""

from __future__ import annotations

import pytest
from flask import render_template_string
from werkzeug.datastructures import MultiDict

from engine.errors import FormInvalid
from web.forms import describe_form, errors_by_field, parse_form, to_local_input

SCHEMA = {
    "type": "object",
    "required": ["name", "count", "kind", "when", "people"],
    "properties": {
        "name": {"type": "string", "title": "名称", "x-title-en": "Name", "pattern": r"^\d+-\d+$"},
        "count": {"type": "integer", "title": "数量", "x-title-en": "Count"},
        "weight": {"type": "number", "title": "重量"},
        "ok": {"type": "boolean", "title": "确认", "const": True},
        "kind": {"type": "string", "title": "种类", "enum": ["a", "b", "c", "d", "e"],
                 "x-enum-labels": {"a": "甲", "b": "乙", "c": "丙", "d": "丁", "e": "戊"}},
        "when": {"type": "string", "format": "date-time", "title": "时间"},
        "notes": {"type": "string", "title": "备注", "maxLength": 2000},
        "tags": {"type": "array", "title": "标签", "items": {"type": "string"}},
        "people": {"type": "array", "title": "人员", "items": {
            "type": "object", "required": ["who"],
            "properties": {"who": {"type": "string", "title": "姓名"}, "age": {"type": "integer", "title": "年龄"}}}},
    },
}
FIELDS_MACRO = '{% from "_fields.html" import field %}{% for f in fields %}{{ field(f) }}{% endfor %}'


@pytest.fixture
def ctx(app):
    with app.test_request_context("/"):
        yield


def posted(**values) -> MultiDict:
    return MultiDict(list(values.items()))


def test_each_kind_gets_its_input(ctx):
    kinds = {f.name: f.kind for f in describe_form(SCHEMA)}
    assert kinds == {"name": "text", "count": "integer", "weight": "number", "ok": "checkbox", "kind": "select",
                     "when": "datetime", "notes": "textarea", "tags": "lines", "people": "rows"}


def test_rows_render_existing_rows_and_one_empty_row(ctx):
    fields = describe_form(SCHEMA, data={"people": [{"who": "赵刚", "age": 30}]})
    people = next(f for f in fields if f.name == "people")
    assert [[sub.name for sub in row] for row in people.rows] == [["people-0-who", "people-0-age"],
                                                                  ["people-1-who", "people-1-age"]]
    html = render_template_string(FIELDS_MACRO, fields=fields)
    assert 'name="people-0-who" id="f-people-0-who" value="赵刚"' in html
    assert 'name="people-1-who"' in html and "add-row" in html
    assert '<select name="kind"' in html and ">戊</option>" in html


def test_parse_turns_posted_text_into_typed_json(ctx):
    data = parse_form(SCHEMA, posted(**{
        "name": "3-2", "count": "4", "weight": "2.5", "ok": "y", "kind": "e", "when": "2026-11-23T17:05",
        "notes": "  多行\n备注 ", "tags": "a\n\n b \n", "people-0-who": "赵刚", "people-0-age": "30",
        "people-1-who": "", "people-1-age": ""}))
    assert data == {"name": "3-2", "count": 4, "weight": 2.5, "ok": True, "kind": "e",
                    "when": "2026-11-23T17:05:00+08:00", "notes": "多行\n备注", "tags": ["a", "b"],
                    "people": [{"who": "赵刚", "age": 30}]}


def test_parse_reports_every_bad_field(ctx):
    with pytest.raises(FormInvalid) as caught:
        parse_form(SCHEMA, posted(name="x", count="four", when="yesterday", **{"people-0-age": "3"}))
    errors = errors_by_field(caught.value.errors)
    assert set(errors) == {"name", "count", "ok", "kind", "when", "people"}
    assert errors["count"] == "请输入整数"
    assert errors["kind"] == "此项必填"
    assert errors["ok"] == "提交前必须勾选"
    assert errors["people"] == "0.who: 此项必填"


def test_too_long_text_is_a_field_error_in_words_not_the_text_quoted(ctx):
    with pytest.raises(FormInvalid) as caught:
        parse_form(SCHEMA, posted(name="3-2", count="1", ok="y", kind="a", when="2026-11-23T17:05",
                                  notes="漏" * 2001, **{"people-0-who": "赵刚"}))
    assert errors_by_field(caught.value.errors) == {"notes": "最多 2000 个字"}


def test_typed_values_are_kept_after_an_error(ctx):
    form = posted(name="x", count="four", tags="a\nb", **{"people-0-who": "孙伟"})
    fields = {f.name: f for f in describe_form(SCHEMA, posted=form, errors={"count": "请输入整数"})}
    assert fields["count"].value == "four" and fields["count"].error == "请输入整数"
    assert fields["tags"].value == "a\nb"
    assert fields["people"].rows[0][0].value == "孙伟"
    assert len(fields["people"].rows) == 2


def test_stored_times_show_in_shanghai_time():
    assert to_local_input("2026-11-23T09:05:00+00:00") == "2026-11-23T17:05"
    assert to_local_input("not a time") == "not a time"
