"""Load a YAML file, validate it against a JSON Schema, and point at the bad line."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

from engine.errors import DefinitionError, Finding

SCHEMA_DIR = Path(__file__).parent / "schemas"


# libyaml's parser when PyYAML was built with it: the library has ~100 form files to read.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextDatesLoader(_SAFE_LOADER):
    """The safe loader, leaving dates as text: JSON Schema validates strings, not datetimes."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _SAFE_LOADER.yaml_implicit_resolvers.items()
}
YAML_LOADER = _TextDatesLoader


@lru_cache(maxsize=None)
def bundled_schema(name: str) -> dict:
    """Return one of the engine's own JSON Schemas (`engine/schemas/<name>.schema.json`)."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def _line_of(node: yaml.Node | None, path) -> int | None:
    """Walk a composed YAML node along a JSON path and return the 1-based line there."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            # The key's line: a nested mapping's value starts on the line after it.
            pair = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def load_yaml(text: str, filename: str, schema: dict | None = None):
    """Parse YAML text and validate it; raise `DefinitionError` with file and line findings."""
    try:
        data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError([Finding(filename, line, None, "error", f"invalid YAML: {problem}")]) from None
    if schema is not None:
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            node = yaml.compose(text, Loader=YAML_LOADER)  # only now are the line numbers needed
            raise DefinitionError([
                Finding(filename, _line_of(node, _where(err)), _path_label(err.absolute_path), "error",
                        err.message)
                for err in errors
            ])
    return data


def _where(err: jsonschema.ValidationError) -> list:
    """The path to point at: for a key that is not allowed, the key itself, not its mapping."""
    path = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = [key for key in err.instance if key not in allowed]
        if extra:
            path.append(extra[0])
    return path


def line_at(text: str, path) -> int | None:
    """The 1-based line of the value at `path` (keys and indexes) in YAML text, as near as exists."""
    return _line_of(yaml.compose(text, Loader=YAML_LOADER), path)


def _path_label(path) -> str | None:
    return ".".join(str(p) for p in path) or None


def read_yaml_file(path: Path, schema_name: str | None = None, display_name: str | None = None):
    """Read and validate a YAML file against a bundled schema."""
    schema = bundled_schema(schema_name) if schema_name else None
    return load_yaml(path.read_text(encoding="utf-8"), display_name or str(path), schema)
