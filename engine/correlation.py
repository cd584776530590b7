"""The request id of the work in hand: one id from the HTTP request (or the worker's pass)
to the log lines it writes and the audit events its step appends, so an operator can
follow one click from nginx's log to the case's trail.

A context variable, so each of waitress's threads, and the worker thread, has its own.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("estatedesk_request_id", default=None)
# What a proxy's X-Request-ID may look like to be kept (nginx's $request_id is 32 hex digits);
# anything else is replaced, so a client cannot write arbitrary text into the audit trail.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def current() -> str | None:
    """The id of the request or worker pass this thread is serving, if any."""
    return _current.get()


def new_id(offered: str | None = None) -> str:
    """`offered` (a proxy's X-Request-ID) when it looks like one, else a fresh random id."""
    if offered and _ACCEPTABLE.match(offered):
        return offered
    return uuid.uuid4().hex


def bind(request_id: str):
    """Make `request_id` current; returns the token `unbind` takes."""
    return _current.set(request_id)


def unbind(token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def bound(request_id: str | None = None):
    """Run the block under `request_id` (a fresh one if None)."""
    token = bind(request_id or new_id())
    try:
        yield current()
    finally:
        unbind(token)
