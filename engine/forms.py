"""Task forms: JSON Schemas in `forms/`, and validation of submitted data per field."""

from __future__ import annotations

import json
from functools import lru_cache

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


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(schema_json), format_checker=FORMAT_CHECKER)


def validate_form_data(schema: dict, data) -> dict:
    """Return `data` if it matches `schema`; else raise `FormInvalid` with one error per field."""
    if not isinstance(data, dict):
        raise FormInvalid([FieldError("", "form data must be a JSON object")])
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors: dict[str, str] = {}
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        field = _field_of(err)
        errors.setdefault(field, err.message)
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
