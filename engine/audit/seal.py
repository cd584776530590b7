"""The key that seals the audit trail, kept outside the database, and the seals made with it.

An attacker who can write the database can recompute every sha256 of the chain, but not an
HMAC without the key: each event's seal and each chain head's seal are HMACs, so rewriting
history needs the key as well as the database (docs/audit.md).

The key comes from `ESTATEDESK_AUDIT_KEY` (the key itself) or `ESTATEDESK_AUDIT_KEY_FILE`
(a file holding it, e.g. readable only by the service account), read when first needed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from engine.errors import AuditKeyMissing

KEY_ENV = "ESTATEDESK_AUDIT_KEY"
KEY_FILE_ENV = "ESTATEDESK_AUDIT_KEY_FILE"

_cache: dict[tuple, bytes] = {}


def audit_key() -> bytes:
    """The configured key, or `AuditKeyMissing`; looked up again if the environment changes."""
    source = (os.environ.get(KEY_ENV), os.environ.get(KEY_FILE_ENV))
    if source not in _cache:
        text, path = source
        if not text and path:
            try:
                text = Path(path).read_text(encoding="utf-8").strip()
            except FileNotFoundError:  # a key file named but not made (make run makes var/audit.key)
                raise AuditKeyMissing(path) from None
        if not text:
            raise AuditKeyMissing()
        _cache[source] = text.encode("utf-8")
    return _cache[source]


def seal(key: bytes, *parts) -> str:
    """HMAC-SHA256 over the parts, separated so that no two part lists give the same text."""
    message = "\x1f".join("" if p is None else str(p) for p in parts)
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def event_seal(key: bytes, chain: str, event_hash: str) -> str:
    """Binds an event's hash to its chain: a re-hashed or moved event no longer matches."""
    return seal(key, "event", chain, event_hash)


def head_seal(key: bytes, chain: str, last_event_id: int, last_hash: str, length: int) -> str:
    """Binds a chain's head to where the chain ends: a cut tail or a repointed head shows."""
    return seal(key, "head", chain, last_event_id, last_hash, length)


def matches(expected: str, found: str | None) -> bool:
    return found is not None and hmac.compare_digest(expected, found)
