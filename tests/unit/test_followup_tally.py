"""The follow-up tally (engine/store/followup_tally.py) under concurrency: two cases of one
site and month decided at once queue on the tally's row, so the second sees the first's
decision and the quota is never computed twice from the same count."""

from __future__ import annotations

import threading
import time

from engine.store.followup_tally import FollowupTally, SessionTally

KEY = ("nanshan", "complaint", "2026-12")


def test_a_second_decision_waits_for_the_first_and_counts_after_it(db):
    first = db.session()
    first.begin()
    assert SessionTally(first).take(*KEY) == (1, 0)
    seen = []

    def second_case():
        with db.session() as session, session.begin():
            seen.append(SessionTally(session).take(*KEY))

    other = threading.Thread(target=second_case)
    other.start()
    time.sleep(0.5)
    assert seen == []  # held until the first case's step commits
    SessionTally(first).mark_sampled(*KEY)
    first.commit()
    first.close()
    other.join(timeout=30)
    assert seen == [(2, 1)]  # it counts after the first, and knows the first was visited
    with db.session() as session:
        row = session.get(FollowupTally, KEY)
        assert (row.decided, row.sampled) == (2, 1)


def test_a_step_rolled_back_leaves_no_count(db):
    with db.session() as session:
        session.begin()
        SessionTally(session).take(*KEY)
        session.rollback()
    with db.session() as session, session.begin():
        assert SessionTally(session).take(*KEY) == (1, 0)
