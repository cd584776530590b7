"""Task forms: JSON Schemas in `forms/`, and validation of submitted data per field.

A property marked `x-price-list: true` offers the items of the price list
(`processes/rules/prices.yaml`) ahead of its own `enum` values, labelled with name and
unit price, so prices are written once and every form shows the same ones; likewise
`x-category-list` the triage categories and `x-site-list` the sites.
"""

from __future__ import annotations

import re

import jsonschema

from engine.errors import DefinitionError, FieldError, Finding, FormInvalid
from engine.yamlfile import load_yaml

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


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
    return {form_id: _with_lists(schema, lists) for form_id, schema in forms.items()}


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
_FORMATS = {"date-time": ("时间格式不正确", "Not a date and time"), "date": ("日期格式不正确", "Not a date")}


def _messages(err: jsonschema.ValidationError) -> tuple[str, str, str]:
    """(for programs, Chinese, English): a pattern by the form's own hint and a length by its
    limit, not by a regular expression or the whole text quoted back."""
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
