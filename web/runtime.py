"""The app's one `Runtime`, and read-only sessions on its database for the views."""

from __future__ import annotations

import contextlib

from flask import current_app

from engine.runtime.step import Runtime


def runtime() -> Runtime:
    return current_app.extensions["estatedesk"]


@contextlib.contextmanager
def reading():
    """A session for reads only; views never write outside the runtime's steps."""
    with runtime().db.read_session() as session:
        yield session


def now():
    """The engine clock's time (tests move a fake clock)."""
    return runtime().clock.now()

