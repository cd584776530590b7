"""What an event's hash covers, and the hash itself: sha256 over the previous hash and the
event's canonical JSON, so altering, deleting or inserting a row breaks its chain there."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

GENESIS_HASH = "0" * 64


def canonical_json(instance_id, at: datetime, type_: str, actor, element_id, data, request_id=None) -> str:
    """The exact text an event's hash covers.

    The request id is covered only when the event has one, so events written before it
    existed keep their hashes."""
    body = {
        "instance_id": instance_id,
        "at": at.isoformat(),
        "type": type_,
        "actor": actor,
        "element_id": element_id,
        "data": data,
    }
    if request_id is not None:
        body["request_id"] = request_id
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def event_hash(prev_hash: str, row) -> str:
    """The hash a stored event row (anything with the event's columns as attributes) should carry."""
    return chain_hash(prev_hash, canonical_json(row.instance_id, row.at, row.type, row.actor,
                                                row.element_id, row.data, getattr(row, "request_id", None)))
