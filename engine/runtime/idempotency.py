"""Requests sent again: a caller that did not hear the answer to a write (a dropped
connection) sends it again with the same Idempotency-Key and gets the first answer,
instead of opening the case twice.

A key belongs to one caller (username) and one request (method, path and body, as a
hash). The first request claims the key in a transaction of its own before it runs
(the unique row is what makes two copies arriving together see each other, in any
number of server processes), and stores its answer when it has one. A key sent with a
different request is refused; one whose first request is still running is busy. An
answer that was a server error is not kept: the step rolled back, so running it again is
the right thing. Keys are kept for `KEY_LIFETIME`.

If a server dies between the step's commit and storing the answer, the key stays
claimed without one until it expires: a retry is then told the key is busy, never run
again, since the first run may have taken effect.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from engine.runtime.transaction import StepTransactions
from engine.store.idempotency import IdempotencyKey

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 255


class Claim(enum.Enum):
    NEW = "new"  # this request is the first with the key: run it, then `store_answer` or `release`
    REPLAY = "replay"  # answered before: send the stored answer again
    OTHER_REQUEST = "other_request"  # the key was first sent with another method, path or body
    BUSY = "busy"  # the first request with the key has no answer yet


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: str


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same request."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode("utf-8"), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def claim_key(transactions: StepTransactions, username: str, key: str, request: str) -> tuple[Claim, Answer | None]:
    """Claim `key` for `username`'s request (its `fingerprint`), or say why not; with the stored answer to replay."""
    now = transactions.clock.now()
    try:
        with transactions.transaction() as session:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - KEY_LIFETIME))
            found = session.scalar(select(IdempotencyKey).where(IdempotencyKey.username == username,
                                                                IdempotencyKey.key == key))
            if found is None:
                session.add(IdempotencyKey(username=username, key=key, fingerprint=request, created_at=now))
                return Claim.NEW, None
    except IntegrityError:  # the same key arrived in another process at the same moment
        return Claim.BUSY, None
    if found.fingerprint != request:
        return Claim.OTHER_REQUEST, None
    if found.answer is None:
        return Claim.BUSY, None
    return Claim.REPLAY, Answer(**found.answer)


def store_answer(transactions: StepTransactions, username: str, key: str, answer: Answer) -> None:
    """Keep the answer to the request that claimed `key`, for its retries."""
    with transactions.transaction() as session:
        session.execute(update(IdempotencyKey).where(IdempotencyKey.username == username, IdempotencyKey.key == key)
                        .values(answer={"status": answer.status, "headers": answer.headers, "body": answer.body}))


def release_key(transactions: StepTransactions, username: str, key: str) -> None:
    """Give up a claim whose request failed without effect, so a retry runs it."""
    with transactions.transaction() as session:
        session.execute(delete(IdempotencyKey).where(IdempotencyKey.username == username, IdempotencyKey.key == key,
                                                     IdempotencyKey.answer.is_(None)))
