"""Credentials named in notifications.yaml: `{env: NAME}` or `{secret: key}`, never the value itself.

A `{secret: key}` is looked up in the secrets file: the one `ESTATEDESK_SECRETS_FILE`
names, else notifications.yaml's `secrets_file`. The file is YAML (or JSON) mapping keys
to strings, read again whenever it changes, and should be readable by the service alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from engine.errors import DeliveryFailed

SECRETS_FILE_ENV = "ESTATEDESK_SECRETS_FILE"
_files: dict[str, tuple[float, dict]] = {}


class MissingSecret(DeliveryFailed):
    """A credential the channel needs is not set: trying again cannot help until someone sets it."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


def is_reference(value) -> bool:
    return isinstance(value, dict) and len(value) == 1 and ("env" in value or "secret" in value)


def resolve(value, secrets_file: str | None) -> str:
    """The text a setting stands for: itself, an environment variable, or a secrets file entry."""
    if not is_reference(value):
        return value
    if "env" in value:
        found = os.environ.get(value["env"])
        if not found:
            raise MissingSecret(f"environment variable {value['env']} is not set")
        return found
    path = os.environ.get(SECRETS_FILE_ENV) or secrets_file
    if not path:
        raise MissingSecret(f"secret {value['secret']!r} needs a secrets file: set {SECRETS_FILE_ENV} "
                            "or secrets_file in notifications.yaml")
    found = _read(path).get(value["secret"])
    if found in (None, ""):
        raise MissingSecret(f"the secrets file {path} has no {value['secret']!r}")
    return str(found)


def missing(settings, secrets_file: str | None) -> str | None:
    """Why the credentials among `settings` cannot all be read, or None when they can."""
    for value in _references(settings):
        try:
            resolve(value, secrets_file)
        except MissingSecret as exc:
            return str(exc)
    return None


def resolve_all(value, secrets_file: str | None):
    """`value` (a template of dicts and lists) with every reference replaced by its text."""
    if is_reference(value):
        return resolve(value, secrets_file)
    if isinstance(value, dict):
        return {k: resolve_all(v, secrets_file) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_all(v, secrets_file) for v in value]
    return value


def _references(value):
    if is_reference(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _read(path: str) -> dict:
    try:
        mtime = Path(path).stat().st_mtime
    except OSError as exc:
        raise MissingSecret(f"cannot read the secrets file {path}: {exc.strerror}") from None
    cached = _files.get(path)
    if cached is None or cached[0] != mtime:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise MissingSecret(f"the secrets file {path} is not a mapping of names to values")
        cached = _files[path] = (mtime, data)
    return cached[1]
