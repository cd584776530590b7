"""Task forms: JSON Schemas in `forms/`, and validation of submitted data per field."""

from __future__ import annotations

import re

import jsonschema

from .errors import DefinitionError, FieldError, Finding, FormInvalid
from .yamlfile import load_yaml

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def load_forms(texts: dict[str, str]) -> dict[str, dict]:
    """Parse form files given as {"emergency_patient/choose_help.yaml": text}; key them by form id."""
    forms, findings = {}, []
    for name, text in sorted(texts.items()):
        filename = f"forms/{name}"
        try:
            schema = load_yaml(text, filename)
            jsonschema.Draft202012Validator.check_schema(schema)
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise jsonschema.SchemaError("a form schema must be an object with type: object")
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
    """Return `data` if it matches `schema`; else raise `FormInvalid` with one error per field."""
    if not isinstance(data, dict):
        raise FormInvalid([FieldError("", "form data must be a JSON object")])
    validator = _validator(schema)
    errors: dict[str, str] = {}
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            for name in _unexpected(err):
                errors.setdefault(".".join([*map(str, err.absolute_path), name]), "not a field of this form")
            continue
        errors.setdefault(_field_of(err), err.message)
    if errors:
        raise FormInvalid([FieldError(f, m) for f, m in errors.items()])
    return data


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
