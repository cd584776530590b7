"""Task forms: JSON Schemas in `forms/`, and validation of submitted data per field.

A property marked `x-price-list: true` offers the items of the price list
(`processes/rules/prices.yaml`) ahead of its own `enum` values, labelled with name and
unit price, so prices are written once and every form shows the same ones; likewise
`x-category-list` the triage categories and `x-site-list` the sites.

Marks that help the person filling in (prepared_form_data, check_times): `x-set-by: {field, value}`
fills a field's `const` when that choice is made (电话回访 by the visit mode), so nobody types it;
`x-unit` stores a unit as 楼栋-单元-房号 however it was written; `x-past` refuses a time in the
future; `x-within-sla: KEY` refuses a promised time in the past or later than SLA target KEY
allows from now at the case's site (告之业户解决时间，一般不应超过三天); `format: phone` takes a
mobile or landline number, with an extension; `format: signature` a signature drawn on the
screen, as a PNG data URL; `x-signed-in` and `x-staff-role` name people the system knows
(engine/definitions/form_people.py). `x-from-case: true` marks a field that holds what the case
already knows, so the form's rules may depend on it (the complaint's second visit is at the door
because the case counts its visits, 001/第2篇 1.9): never typed or shown, a value sent is dropped,
and the step checks the form again with the case's value (check_with_case_values). A rule's
`x-error`/`x-error-en` say in the form's own words why a value is refused.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import datetime, timedelta

import jsonschema

from engine.clock import LOCAL_TZ
from engine.definitions.form_people import fill_staff, sign
from engine.definitions.units import normalise_unit
from engine.errors import DefinitionError, FieldError, Finding, FormInvalid
from engine.yamlfile import line_at, load_yaml

SET_BY = "x-set-by"
UNIT = "x-unit"
PAST = "x-past"
WITHIN_SLA = "x-within-sla"
FROM_CASE = "x-from-case"
# Clocks of phones and desk PCs differ by a few minutes; a time beyond that is a mistake.
FUTURE_SLACK = timedelta(minutes=10)
# 13800000000, +8613800000000, 0755-12345678, 12345678, with 转123 / -123 / ext123 after it;
# a plain regular expression, so the API's document states it as the pattern it is.
PHONE_PATTERN = r"^(?:(?:\+?86)?1[3-9]\d{9}|(?:0\d{2,3}-?)?\d{7,8})(?:(?:转|-|ext|EXT|x|X)\d{1,6})?$"
_PHONE = re.compile(PHONE_PATTERN)

# The standard formats, plus "phone"; a copy, so other users of jsonschema do not see it.
FORMAT_CHECKER = copy.deepcopy(jsonschema.Draft202012Validator.FORMAT_CHECKER)


# A signature drawn on the screen (the resident's, 001/第8篇 4.1 6)), as the PNG the pad makes.
SIGNATURE_PREFIX = "data:image/png;base64,"
_BASE64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


@FORMAT_CHECKER.checks("signature")
def is_signature(value) -> bool:
    if not isinstance(value, str) or not value:
        return True  # required and minLength say whether one is needed
    payload = value.removeprefix(SIGNATURE_PREFIX)
    return payload != value and bool(_BASE64.match(payload))


@FORMAT_CHECKER.checks("phone")
def is_phone(value) -> bool:
    # Empty is not a number to check: minLength and required say whether one is needed.
    return not isinstance(value, str) or not value or bool(_PHONE.match(value))


def prepared_form_data(schema: dict, data: dict, signer: str | None = None) -> dict:
    """`data` as it is checked and stored: each `x-set-by` mark filled when its choice is made
    (and dropped when not), each `x-unit` written 3-2-1201 where it can be, each `x-signed-in`
    field signed with the name of the person submitting it (`signer`)."""
    prepared = sign(schema, data, signer)
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        if prop.get(FROM_CASE):
            prepared.pop(name, None)  # the case's, never the sender's
            continue
        rule = prop.get(SET_BY)
        if isinstance(rule, dict):
            if prepared.get(rule.get("field")) == rule.get("value"):
                prepared[name] = prop.get("const")
            else:
                prepared.pop(name, None)
        if prop.get(UNIT) and isinstance(prepared.get(name), str):
            prepared[name] = normalise_unit(prepared[name]) or prepared[name].strip()
    return prepared


def check_with_case_values(schema: dict | None, data: dict, case_data: dict) -> None:
    """Check `data` against `schema` again with each `x-from-case` field as the case holds it."""
    fields = [name for name, prop in ((schema or {}).get("properties") or {}).items()
              if isinstance(prop, dict) and prop.get(FROM_CASE)]
    if fields:
        validate_form_data(schema, {**data, **{f: case_data[f] for f in fields if f in case_data}})


def check_times(schema: dict, data: dict, now: datetime,
                sla_due: Callable[[str], datetime] | None = None) -> None:
    """Refuse an `x-past` time later than now (beyond a clock's difference), and an
    `x-within-sla` promise before now or after `sla_due(key)`, the site's limit from now."""
    errors = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or not (prop.get(PAST) or prop.get(WITHIN_SLA)):
            continue
        try:
            moment = datetime.fromisoformat(data[name]) if isinstance(data.get(name), str) else None
        except ValueError:
            continue  # the format check names it
        if moment is None:
            continue
        if prop.get(PAST) and moment.tzinfo is not None and moment > now + FUTURE_SLACK:
            errors.append(FieldError(name, "must not be in the future", "不能晚于现在", "Must not be in the future"))
        if prop.get(WITHIN_SLA) and sla_due is not None:
            local = moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)  # as the timer will read it
            errors.extend(_promise_errors(name, local, now, sla_due(prop[WITHIN_SLA])))
    if errors:
        raise FormInvalid(errors)


def _promise_errors(name: str, moment: datetime, now: datetime, latest: datetime) -> list[FieldError]:
    if moment < now - FUTURE_SLACK:
        return [FieldError(name, "a promised time must not be in the past", "承诺的时间不能早于现在",
                           "A promised time must not be in the past")]
    if moment > latest:
        shown = latest.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        return [FieldError(name, f"must not be later than the site's limit, {shown}",
                           f"不能晚于本中心规定的时限（{shown}）", f"Must not be later than this centre's limit ({shown})")]
    return []


def unknown_sla_marks(forms: dict[str, dict], texts: dict[str, str], sla_keys) -> list[Finding]:
    """Errors for `x-within-sla` marks that name no target of sla.yaml: the bound would be missing."""
    return [Finding(f"forms/{form_id}.yaml", line_at(texts.get(f"{form_id}.yaml", ""), ("properties", name, WITHIN_SLA)),
                    name, "error", f"x-within-sla names {prop[WITHIN_SLA]!r}, which is no target in "
                    "processes/rules/sla.yaml")
            for form_id, schema in sorted(forms.items())
            for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict) and prop.get(WITHIN_SLA) and prop[WITHIN_SLA] not in sla_keys]


# Texts already checked against the JSON Schema meta-schema: checking is the slow part of
# reading the library, and every lint, import and deploy reads all the forms again.
_CHECKED_TEXTS: set[str] = set()


def load_forms(texts: dict[str, str]) -> dict[str, dict]:
    """Parse form files given as {"emergency_patient/choose_help.yaml": text}; key them by form id."""
    forms, findings = {}, []
    for name, text in sorted(texts.items()):
        filename = f"forms/{name}"
        try:
            schema = load_yaml(text, filename)
            if text not in _CHECKED_TEXTS:
                jsonschema.Draft202012Validator.check_schema(schema)
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise jsonschema.SchemaError("a form schema must be an object with type: object")
            _CHECKED_TEXTS.add(text)
        except DefinitionError as exc:
            findings.extend(exc.findings)
            continue
        except jsonschema.SchemaError as exc:
            findings.append(Finding(filename, None, None, "error", f"not a valid JSON Schema: {exc.message}"))
            continue
        forms[name.removesuffix(".yaml")] = schema
    if findings:
        raise DefinitionError(findings)
    return forms


PRICE_LIST = "x-price-list"
CATEGORY_LIST = "x-category-list"
SITE_LIST = "x-site-list"


def fill_lists(forms: dict[str, dict], rules) -> dict[str, dict]:
    """Return `forms` with the lists the rules hold filled in: every `x-price-list` property
    offers the price-list items first, `x-category-list` the triage categories, `x-site-list`
    the sites (each with its Chinese and English labels)."""
    if rules is None:
        return forms
    prices = rules.prices
    lists = {
        PRICE_LIST: (list(prices), {i: f"{p['zh']}（{p['price']}元/{p['unit']}）" for i, p in prices.items()},
                     {i: f"{p['en']} ({p['price']} yuan {p['unit_en']})" for i, p in prices.items()}),
        CATEGORY_LIST: (list(rules.categories), {c.id: c.zh for c in rules.categories.values()},
                        {c.id: c.en for c in rules.categories.values()}),
        SITE_LIST: (list(rules.sites), {k: v.get("zh", k) for k, v in rules.sites.items()},
                    {k: v.get("en", k) for k, v in rules.sites.items()}),
    }
    return {form_id: fill_staff(_with_lists(schema, lists), rules.staff) for form_id, schema in forms.items()}


def _with_lists(schema: dict, lists: dict) -> dict:
    properties = schema.get("properties") or {}
    filled = dict(properties)
    for name, prop in properties.items():
        marker = next((m for m in lists if isinstance(prop, dict) and prop.get(m)), None)
        if marker is None:
            continue
        values, zh, en = lists[marker]
        own = [value for value in prop.get("enum", []) if value not in values]  # e.g. "unlisted"
        filled[name] = {**prop, "enum": [*values, *own],
                        "x-enum-labels": {**zh, **prop.get("x-enum-labels", {})},
                        "x-enum-labels-en": {**en, **prop.get("x-enum-labels-en", {})}}
    return {**schema, "properties": filled} if filled != properties else schema


# Form schemas live in cached, immutable versions, so the dict itself can key its validator;
# the schema is kept beside it so a recycled id() is never mistaken for it.
_VALIDATORS: dict[int, tuple[dict, jsonschema.Draft202012Validator]] = {}


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_VALIDATORS) > 2048:
            _VALIDATORS.clear()
        cached = (schema, jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


def validate_form_data(schema: dict, data) -> dict:
    """Return `data` if it matches `schema`; else raise `FormInvalid` with one error per field.

    The one place form data is checked, for the web, the API and the CLI alike: each error
    says what is wrong in English and in Chinese, by the form's own hints where it has them.
    """
    if not isinstance(data, dict):
        raise FormInvalid([FieldError("", "form data must be a JSON object", "表单数据必须是一个对象",
                                      "The form data must be an object")])
    validator = _validator(schema)
    errors: dict[str, FieldError] = {}
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            for name in _unexpected(err):
                field = ".".join([*map(str, err.absolute_path), name])
                errors.setdefault(field, FieldError(field, "not a field of this form", "不是本表单的字段",
                                                    "Not a field of this form"))
            continue
        field = _field_of(err)
        errors.setdefault(field, FieldError(field, *_messages(err)))
    if errors:
        raise FormInvalid(list(errors.values()))
    return data


# What each kind of failed check means to a person, in Chinese and English; `{n}` is the
# schema's value. Programs get jsonschema's own message, which names allowed values and types.
_WORDS = {
    "required": ("此项必填", "This field is required"),
    "maxLength": ("最多 {n} 个字", "At most {n} characters"),
    "minLength": ("至少 {n} 个字", "At least {n} characters"),
    "minimum": ("不能小于 {n}", "At least {n}"),
    "maximum": ("不能大于 {n}", "At most {n}"),
    "minItems": ("至少选择或填写 {n} 项", "Choose or fill in at least {n}"),
    "maxItems": ("最多 {n} 项", "At most {n} entries"),
    "enum": ("请从给出的选项中选择", "Choose one of the options"),
    "type": ("填写的类型不正确", "Not the right kind of value"),
    "pattern": ("格式不正确", "Not in the expected format"),
    "format": ("格式不正确", "Not in the expected format"),
}
_FORMATS = {"date-time": ("时间格式不正确", "Not a date and time"), "date": ("日期格式不正确", "Not a date"),
            "phone": ("请填写手机号或固定电话（可带区号和分机），例如 13800000000、0755-12345678转123",
                      "A mobile or landline number (area code and extension allowed), e.g. 13800000000, 0755-12345678-123")}


def _messages(err: jsonschema.ValidationError) -> tuple[str, str, str]:
    """(for programs, Chinese, English): a pattern by the form's own hint and a length by its
    limit, not by a regular expression or the whole text quoted back."""
    if err.schema.get("x-error") and err.schema.get("x-error-en"):
        return err.schema["x-error-en"], err.schema["x-error"], err.schema["x-error-en"]
    if err.validator == "pattern" and err.schema.get("x-pattern-hint-en"):
        hint = err.schema["x-pattern-hint-en"]
        return hint, err.schema.get("x-pattern-hint") or _WORDS["pattern"][0], hint
    if err.validator == "const" and err.validator_value is True:
        return "must be ticked before submitting", "提交前必须勾选", "Tick this before submitting"
    if err.validator == "format" and err.validator_value in _FORMATS:
        return (err.message, *_FORMATS[err.validator_value])
    zh, en = _WORDS.get(err.validator, ("填写不正确", "Not valid"))
    message = f"at most {err.validator_value} characters" if err.validator == "maxLength" else err.message
    return message, zh.format(n=err.validator_value), en.format(n=err.validator_value)


def _field_of(err: jsonschema.ValidationError) -> str:
    """Name the field an error belongs to; a missing required field is named, not its parent."""
    path = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else ""
        path.append(missing)
    return ".".join(path)


def _unexpected(err: jsonschema.ValidationError) -> list[str]:
    """The properties an `additionalProperties: false` error is about, each named on its own."""
    declared = set(err.schema.get("properties") or {})
    patterns = list((err.schema.get("patternProperties") or {}))
    return sorted(str(k) for k in err.instance
                  if k not in declared and not any(re.search(p, str(k)) for p in patterns))
