"""Task forms on the server: JSON Schema → field descriptors, and posted values → typed JSON.

Values people typed are kept as typed (strings) for re-rendering; only `parse_form`
turns them into JSON. Times are entered in Asia/Shanghai local time and stored as
ISO-8601 with their offset, so a reader anywhere knows the moment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import g
from flask_babel import gettext as _

from engine.clock import LOCAL_TZ
from engine.definitions.form_people import SIGNED_IN
from engine.definitions.forms import FROM_CASE, PAST, SET_BY, prepared_form_data, validate_form_data
from engine.errors import FieldError, FormInvalid
from web.i18n import pick
from web.runtime import now

RADIO_LIMIT = 4  # up to this many options read best as radio buttons; more go in a select
LONG_TEXT = 200  # strings allowed to be longer than this get a textarea
_MISSING = object()


@dataclass
class Field:
    """One input as the template draws it."""

    name: str
    kind: str  # text textarea integer number checkbox radio select datetime lines checkboxes rows signature signed
    label: str
    help: str | None
    required: bool
    value: object = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    rows: list[list[Field]] = field(default_factory=list)
    carried: bool = False  # filled from what the case already holds: shown for checking, not asked again

    @property
    def shown(self) -> str:
        """The value as people read it: a choice by its words, a time with a space."""
        words = dict(self.options)
        if isinstance(self.value, list):
            return "、".join(words.get(v, v) for v in self.value)
        text = str(self.value)
        return words.get(text, text.replace("T", " ") if self.kind == "datetime" else text)


def field_kind(prop: dict) -> str:
    """Choose the input for one schema property."""
    if prop.get(SIGNED_IN):
        return "signed"  # the signed-in person's name, shown, never typed
    kind = prop.get("type")
    if kind == "boolean":
        return "checkbox"
    if kind == "integer":
        return "integer"
    if kind == "number":
        return "number"
    if kind == "array":
        items = prop.get("items") or {}
        if items.get("type") == "object":
            return "rows"
        return "checkboxes" if "enum" in items else "lines"
    if prop.get("format") == "signature":
        return "signature"  # drawn on a pad (web/static/app.js), sent as a PNG data URL
    if "enum" in prop:
        return "radio" if len(prop["enum"]) <= RADIO_LIMIT else "select"
    if prop.get("format") == "date-time":
        return "datetime"
    return "textarea" if prop.get("maxLength", 0) > LONG_TEXT else "text"


def describe_form(schema: dict, *, data: dict | None = None, posted=None,
                  errors: dict[str, str] | None = None, prefix: str = "", in_row: bool = False) -> list[Field]:
    """Field descriptors for `schema`, filled from typed `data` or from what was `posted`."""
    errors = errors or {}
    required = set(schema.get("required", []))
    fields = []
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get(SET_BY) or prop.get(FROM_CASE):
            continue  # set by the choice it depends on, or the case's own: never typed
        input_name = prefix + name
        kind = field_kind(prop)
        item = Field(
            name=input_name, kind=kind, label=pick(prop.get("title"), prop.get("x-title-en")) or name,
            help=pick(prop.get("description"), prop.get("x-description-en")),
            required=_marked_required(kind, name in required, prop), error=errors.get(name),
            options=_options(prop.get("items") if kind == "checkboxes" else prop),
        )
        if kind == "signed":
            item.value, item.required = signer(), False
        elif kind == "rows":
            item.rows = _row_fields(prop["items"], input_name, data, posted, name)
        elif posted is not None:
            item.value = _posted_value(kind, input_name, posted)
        elif data is not None and name in data and (kind != "checkbox" or in_row):
            # A tick confirms what is true at this step (客户已签名 at this visit), so one given at
            # an earlier step of the case is not carried into it; a row shows its own again.
            item.value = _display_value(kind, data[name])
            item.carried = not in_row and item.value not in ("", [])
        elif kind == "checkbox":
            item.value = bool(prop.get("default", False))
        elif kind == "datetime" and prop.get(PAST):
            item.value = to_local_input(now().isoformat())  # what happened is most often just now
        fields.append(item)
    return fields


def signer() -> str | None:
    """The name the signed-in person signs with."""
    actor = g.get("actor")
    return actor.name if actor is not None else None


def _marked_required(kind: str, listed: bool, prop: dict) -> bool:
    """Whether the field gets the required mark: a checkbox always sends ticked or not, so it is
    marked only when it must be ticked; any other field when the schema requires it."""
    if kind == "checkbox":
        return prop.get("const") is True
    return listed or prop.get("const") is True


def _options(prop: dict | None) -> list[tuple[str, str]]:
    if not prop or "enum" not in prop:
        return []
    zh, en = prop.get("x-enum-labels") or {}, prop.get("x-enum-labels-en") or {}
    return [(str(v), pick(zh.get(v), en.get(v)) or str(v)) for v in prop["enum"]]


def _row_fields(items: dict, name: str, data, posted, key: str) -> list[list[Field]]:
    """Rows already filled plus one empty row to add another."""
    if posted is not None:
        indices = _row_indices(posted, name)
        rows = [describe_form(items, posted=posted, prefix=f"{name}-{i}-") for i in indices]
    else:
        existing = data.get(key) if data else None
        existing = existing if isinstance(existing, list) else []
        rows = [describe_form(items, data=row if isinstance(row, dict) else {}, prefix=f"{name}-{i}-", in_row=True)
                for i, row in enumerate(existing)]
    rows.append(describe_form(items, prefix=f"{name}-{len(rows)}-"))
    for row in rows:
        for sub in row:
            sub.required = False  # a row may be left empty; filled rows are checked on parse
    return rows


def _row_indices(posted, name: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(name)}-(\d+)-")
    found = {int(m.group(1)) for key in posted.keys() if (m := pattern.match(key))}
    return sorted(found)


def _posted_value(kind: str, name: str, posted):
    if kind == "checkbox":
        return name in posted
    if kind == "checkboxes":
        return posted.getlist(name)
    return posted.get(name, "")


def _display_value(kind: str, value):
    if kind == "checkbox":
        return bool(value)
    if kind == "checkboxes":
        return [str(v) for v in value] if isinstance(value, list) else []
    if kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else str(value)
    if kind == "datetime":
        return to_local_input(value)
    return "" if value is None else str(value)


def to_local_input(value) -> str:
    """ISO-8601 text → the `datetime-local` input's value in Asia/Shanghai time."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(LOCAL_TZ)
    return moment.strftime("%Y-%m-%dT%H:%M")


# -- parsing ---------------------------------------------------------------------------

class _Invalid(Exception):
    pass


def parse_form(schema: dict, posted, prefix: str = "") -> dict:
    """Turn posted values into typed JSON for `schema`, and check it with the engine's
    validation (the one home of the form rules); raise `FormInvalid` with every bad field:
    what could not be read as its kind, and what the schema refuses."""
    data, errors = _typed_values(schema, posted, prefix)
    if not prefix:  # a repeated group's rows are checked with the whole form
        data = prepared_form_data(schema, data, signer())
        try:
            validate_form_data(schema, data)
        except FormInvalid as exc:
            unread = {e.field.split(".")[0] for e in errors}
            errors += [e for e in exc.errors if e.field.split(".")[0] not in unread]
    if errors:
        raise FormInvalid(errors)
    return data


def _typed_values(schema: dict, posted, prefix: str) -> tuple[dict, list[FieldError]]:
    data, errors = {}, []
    required = set(schema.get("required") or ())
    for name, prop in (schema.get("properties") or {}).items():
        try:
            value = _parse_value(prop, prefix + name, posted)
            if value is _MISSING and name in required and _may_be_empty(prop):
                value = []  # "没有的不填": a list that may be empty is answered by leaving it empty
        except _Invalid as exc:
            errors.append(FieldError(name, str(exc)))
            continue
        except FormInvalid as exc:  # a row of a repeated group
            errors.extend(FieldError(f"{name}.{e.field}", e.message, e.zh, e.en) for e in exc.errors)
            continue
        if value is not _MISSING:
            data[name] = value
    return data, errors


def _may_be_empty(prop: dict) -> bool:
    return prop.get("type") == "array" and not prop.get("minItems")


def _parse_value(prop: dict, name: str, posted):
    kind = field_kind(prop)
    if kind == "signed":
        return _MISSING  # signed by whoever submits, never by what was sent
    if kind == "checkbox":
        return name in posted
    if kind == "checkboxes":
        values = posted.getlist(name)
        return values or _MISSING
    if kind == "rows":
        return _parse_rows(prop["items"], name, posted)
    text = (posted.get(name) or "").strip()
    if kind == "lines":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines or _MISSING
    if not text:
        return _MISSING
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise _Invalid(_("请输入整数")) from None
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            raise _Invalid(_("请输入数字")) from None
    if kind == "datetime":
        return _parse_datetime(text)
    return text


def _parse_datetime(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(_("时间格式不正确")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.isoformat()


def _parse_rows(items: dict, name: str, posted):
    rows, errors = [], []
    for index in _row_indices(posted, name):
        prefix = f"{name}-{index}-"
        if not any(posted.get(key, "").strip() for key in posted.keys() if key.startswith(prefix)):
            continue  # an untouched row (the empty one offered for adding) is not data
        row, row_errors = _typed_values(items, posted, prefix)
        errors += [FieldError(f"{len(rows)}.{e.field}", e.message, e.zh, e.en) for e in row_errors]
        rows.append(row)
    if errors:
        raise FormInvalid(errors)
    return rows or _MISSING


def errors_by_field(errors: list[FieldError]) -> dict[str, str]:
    """Group field errors by top-level field; nested errors keep their row and column."""
    grouped: dict[str, list[str]] = {}
    for error in errors:
        top, _sep, rest = error.field.partition(".")
        message = pick(error.zh, error.en or error.message)
        grouped.setdefault(top, []).append(f"{rest}: {message}" if rest else message)
    return {name: "; ".join(messages) for name, messages in grouped.items()}
