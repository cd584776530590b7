"""A step that lost a race runs again: a bounded number of times, then a clean conflict.

A step reads its case, acts, and writes it back with a version check; when another step
wrote the case in between, or the database picked this transaction as a deadlock's
victim, nothing of it was kept (`StepRaced`). Running it again reads the new state: it
then succeeds, or fails for a reason the person can act on (the task was completed by
someone else meanwhile), never with a half-written task or a server error.
"""

from __future__ import annotations

import functools
import random
import time

from engine.errors import StepRaced
from engine.runtime import metrics

ATTEMPTS = 4
# PostgreSQL's codes for a deadlock victim and a serialization failure: the transaction may run again.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def step(method):
    """Run the decorated step again when it raised `StepRaced`, up to `ATTEMPTS` times in all."""

    @functools.wraps(method)
    def run(*args, **kwargs):
        began, error = time.perf_counter(), None
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return method(*args, **kwargs)
                except StepRaced:
                    if attempt == ATTEMPTS:
                        raise
                    time.sleep(random.uniform(0, 0.01 * attempt))  # let the winner commit before reading again
        except BaseException as raised:
            error = raised
            raise
        finally:
            metrics.step_finished(method.__name__.lstrip("_"), time.perf_counter() - began, error)

    return run


def is_retryable(error: Exception) -> bool:
    """Whether a database error means "run the transaction again" (deadlock, serialization)."""
    return getattr(getattr(error, "orig", None), "sqlstate", None) in RETRYABLE_SQLSTATES
