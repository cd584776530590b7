"""The app's one `Runtime`, and read-only sessions on its database for the views."""

from __future__ import annotations

import contextlib

from flask import current_app

from engine.runtime.step import Runtime


def runtime() -> Runtime:
    return current_app.extensions["estatedesk"]


@contextlib.contextmanager
def reading(stream: bool = False):
    """A session for reads only; views never write outside the runtime's steps.

    `stream` for a read fetched in batches (engine/store/db.py, `Database.read_session`)."""
    with runtime().db.read_session(stream) as session:
        yield session


def now():
    """The engine clock's time (tests move a fake clock)."""
    return runtime().clock.now()

