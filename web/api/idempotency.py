"""`Idempotency-Key` on the API's POST routes: a retry with the same key gets the first
answer again (with `Idempotent-Replayed: true`) instead of a second case or a 409.

The key is claimed after authentication, so keys are per caller; the same key with a
different method, path or body is a 422, and one whose first request is still running a
409. The rules and the storage are the engine's (engine/runtime/idempotency.py).
"""

from __future__ import annotations

import re

from flask import Response, g, request

from engine.errors import BadInput
from engine.runtime.idempotency import (
    MAX_KEY_LENGTH,
    Answer,
    Claim,
    claim_key,
    fingerprint,
    release_key,
    store_answer,
)
from web.api.errors import UNPROCESSABLE, json_error
from web.runtime import runtime

HEADER = "Idempotency-Key"
# Visible ASCII, as clients make keys (UUIDs, ULIDs, random strings).
KEY_PATTERN = rf"^[!-~]{{1,{MAX_KEY_LENGTH}}}$"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_HEADERS = ("Content-Type", "Location", "ETag")


def begin():
    """Before a POST view: claim its key, or answer from what the key already has."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not re.fullmatch(KEY_PATTERN, key):
        raise BadInput(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")
    request_hash = fingerprint(request.method, request.full_path, request.get_data(cache=True))
    claim, answer = claim_key(runtime(), g.actor.username, key, request_hash)
    if claim is Claim.REPLAY:
        response = Response(answer.body, status=answer.status, headers=answer.headers)
        response.headers[REPLAYED_HEADER] = "true"
        return response
    if claim is Claim.OTHER_REQUEST:
        return json_error(UNPROCESSABLE, f"this {HEADER} was first sent with another request; use a new key")
    if claim is Claim.BUSY:
        return json_error(409, f"the first request with this {HEADER} has not been answered yet; try again later")
    g.idempotency_key = key
    return None


def finish(response):
    """After the view: keep the answer for retries, or free the key after a server error."""
    key = g.pop("idempotency_key", None)
    if key is None:
        return response
    if response.status_code >= 500:
        release_key(runtime(), g.actor.username, key)
    else:
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        store_answer(runtime(), g.actor.username, key, Answer(response.status_code, headers,
                                                              response.get_data(as_text=True)))
    return response


def abandon(_error=None) -> None:
    """A request that ended without an answer (the view never returned) frees its key."""
    key = g.pop("idempotency_key", None)
    if key is not None:
        release_key(runtime(), g.actor.username, key)


def register(bp) -> None:
    bp.before_request(begin)
    bp.after_request(finish)
    bp.teardown_request(abandon)
