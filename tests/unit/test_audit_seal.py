"""The audit trail cannot be rewritten by someone holding only the database: each tampering
an attacker with database access but without the audit key can try makes
`estatedesk audit verify` exit 1 naming the first break (docs/audit.md)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import OperationalError

from cli.main import main
from engine.audit import chain as audit
from engine.audit.anchors import checkpoint_and_export, make_checkpoint
from engine.audit.events import EventType
from engine.audit.hashing import GENESIS_HASH
from engine.errors import AuditKeyMissing
from engine.runtime.timers import Chore, Wakeup, run_worker
from engine.store.db import Database
from engine.store.models import AuditAnchor, AuditChain, AuditCheckpoint, Event
from tests.conftest import ON_POSTGRES

PATIENT = {"caller": "林先生", "unit": "3-2-1201"}
FORM = {"unit": "3-2-1201", "phone": "13800000000", "condition": "晕倒", "help_type": "call_120", "major": False}


@pytest.fixture
def cases(runtime) -> list[int]:
    """Two cases: the first with a task completed (so its chain has events after the middle)."""
    first = runtime.start_instance("emergency_patient", PATIENT, "reception1")
    runtime.complete_task(first.open_tasks[0].id, FORM, "reception1")
    second = runtime.start_instance("emergency_patient", PATIENT, "reception1")
    return [first.instance.id, second.instance.id]


@pytest.fixture
def on_this_db(db_url, monkeypatch):
    """The estatedesk command on this test's database."""
    monkeypatch.setenv("DATABASE_URL", db_url)


@pytest.fixture
def verify(on_this_db, capsys):
    """`estatedesk audit verify [args]` on this test's database: (exit code, what it printed)."""

    def run(*args):
        code = main(["audit", "verify", *args])
        return code, capsys.readouterr().out.strip()

    return run


def chain_events(db: Database, case_id: int) -> list[Event]:
    with db.session() as session:
        events = session.scalars(select(Event).where(Event.chain == f"case:{case_id}").order_by(Event.id)).all()
        session.expunge_all()
        return events


def rehash_from(db: Database, chain: str, prev: str, after_id: int) -> None:
    """What an attacker with the engine's own chain_hash does: re-link and re-hash every event of
    `chain` after `after_id` onto `prev`, then move the head to the new end (its seal unchanged)."""
    with db.session() as session, session.begin():
        rows = session.scalars(select(Event).where(Event.chain == chain, Event.id > after_id).order_by(Event.id))
        for row in rows:
            row.prev_hash = prev
            row.hash = prev = audit.chain_hash(prev, audit.canonical_json(
                row.instance_id, row.at, row.type, row.actor, row.element_id, row.data))
        last = session.scalars(select(Event).where(Event.chain == chain).order_by(Event.id.desc()).limit(1)).one()
        count = len(session.scalars(select(Event.id).where(Event.chain == chain)).all())
        session.execute(update(AuditChain).where(AuditChain.chain == chain)
                        .values(last_event_id=last.id, last_hash=last.hash, length=count))


def test_an_untouched_trail_verifies(cases, verify):
    code, out = verify()
    assert code == 0 and out.startswith("audit chain intact:")


def test_each_case_has_its_own_chain_and_sealed_head(runtime, cases):
    with runtime.db.session() as session:
        heads = {h.chain: h for h in session.scalars(select(AuditChain))}
        for case_id in cases:
            events = session.scalars(select(Event).where(Event.instance_id == case_id).order_by(Event.id)).all()
            assert {e.chain for e in events} == {f"case:{case_id}"}
            assert events[0].prev_hash == GENESIS_HASH  # a chain of its own, not the tail of another case's
            head = heads[f"case:{case_id}"]
            assert (head.last_event_id, head.last_hash, head.length) == (events[-1].id, events[-1].hash, len(events))
        assert "global" in heads  # the deploy and the staff: events of no case


def test_a_named_stream_chains_apart_from_the_cases(runtime, cases, verify):
    at = datetime(2026, 12, 7, 8, tzinfo=timezone.utc)
    with runtime.transaction() as session:
        audit.append_events(session, [audit.NewEvent(EventType.COMMENT_ADDED, actor="guard1",
                                                     data={"text": "夜班交接"}, chain="site:binhai")], at)
    with runtime.db.session() as session:
        event = session.scalars(select(Event).where(Event.chain == "site:binhai")).one()
        assert event.prev_hash == GENESIS_HASH and session.get(AuditChain, "site:binhai").length == 1
    assert verify()[0] == 0


def test_tail_cut_with_the_head_repointed(runtime, cases, verify):
    events = chain_events(runtime.db, cases[0])
    with runtime.db.engine.begin() as conn:
        conn.execute(delete(Event).where(Event.id == events[-1].id))
        conn.execute(update(AuditChain).where(AuditChain.chain == f"case:{cases[0]}").values(
            last_event_id=events[-2].id, last_hash=events[-2].hash, length=len(events) - 1))
    code, out = verify()
    assert code == 1
    assert f"broken at event {events[-2].id}: the head of chain case:{cases[0]} does not match its seal" in out


def test_head_deleted(runtime, cases, verify):
    events = chain_events(runtime.db, cases[1])
    with runtime.db.engine.begin() as conn:
        conn.execute(delete(AuditChain).where(AuditChain.chain == f"case:{cases[1]}"))
    code, out = verify()
    assert code == 1 and f"broken at event {events[-1].id}: chain case:{cases[1]} has no head" in out


def test_edited_event_rehashed_with_the_engines_own_chain_hash(runtime, cases, verify):
    events = chain_events(runtime.db, cases[0])
    target = next(e for e in events if e.type == EventType.TASK_COMPLETED)
    assert target.id != events[-1].id  # events follow it, and are re-hashed too
    with runtime.db.engine.begin() as conn:
        conn.execute(update(Event).where(Event.id == target.id).values(actor="supervisor1"))
    before = events[events.index(target) - 1]
    rehash_from(runtime.db, f"case:{cases[0]}", before.hash, before.id)
    code, out = verify()
    assert code == 1 and f"broken at event {target.id}: seal does not match" in out


def test_forged_event_rehashed(runtime, cases, verify):
    last = chain_events(runtime.db, cases[1])[-1]
    with runtime.db.session() as session, session.begin():
        forged = Event(instance_id=cases[1], at=last.at, type=EventType.CANCELLED, actor="manager1",
                       element_id="emergency_patient", data={"reason": "误报"}, chain=f"case:{cases[1]}",
                       prev_hash=last.hash, hash="", seal=last.seal)  # a seal copied from a real event
        forged.hash = audit.chain_hash(last.hash, audit.canonical_json(
            forged.instance_id, forged.at, forged.type, forged.actor, forged.element_id, forged.data))
        session.add(forged)
        session.flush()
        forged_id = forged.id
    rehash_from(runtime.db, f"case:{cases[1]}", last.hash, forged_id)  # moves the head onto it
    code, out = verify()
    assert code == 1 and f"broken at event {forged_id}: seal does not match" in out


def test_deleted_event_rehashed(runtime, cases, verify):
    events = chain_events(runtime.db, cases[0])
    gone, following = events[1], events[2]
    with runtime.db.engine.begin() as conn:
        conn.execute(delete(Event).where(Event.id == gone.id))
    rehash_from(runtime.db, f"case:{cases[0]}", events[0].hash, events[0].id)
    code, out = verify()
    assert code == 1 and f"broken at event {following.id}: seal does not match" in out


def delete_chain(db: Database, case_id: int) -> None:
    with db.engine.begin() as conn:
        conn.execute(delete(Event).where(Event.chain == f"case:{case_id}"))
        conn.execute(delete(AuditChain).where(AuditChain.chain == f"case:{case_id}"))


def checkpoint(runtime) -> None:
    with runtime.transaction() as session:
        assert make_checkpoint(session, runtime.clock.now()) is not None


def test_a_whole_case_chain_deleted_after_a_checkpoint(runtime, cases, verify):
    checkpoint(runtime)
    length = len(chain_events(runtime.db, cases[1]))
    delete_chain(runtime.db, cases[1])
    code, out = verify()
    assert code == 1 and f"chain case:{cases[1]} had {length} events at checkpoint 1, now 0" in out


def test_checkpoints_deleted_show_against_the_exported_file(runtime, cases, verify, tmp_path, capsys):
    out_file = tmp_path / "checkpoints.jsonl"
    assert main(["audit", "checkpoint", "--out", str(out_file)]) == 0
    assert "1 checkpoints written" in capsys.readouterr().out
    assert json.loads(out_file.read_text().splitlines()[0])["id"] == 1
    assert verify("--checkpoints", str(out_file))[0] == 0
    delete_chain(runtime.db, cases[1])
    with runtime.db.engine.begin() as conn:  # and the checkpoint that would have shown it
        conn.execute(delete(AuditAnchor))
        conn.execute(delete(AuditCheckpoint))
    assert verify()[0] == 0  # the database alone no longer knows: the file does
    code, out = verify("--checkpoints", str(out_file))
    assert code == 1 and "checkpoint 1 of the checkpoint file is missing or different in the database" in out


def test_a_checkpoint_rewritten_in_the_database(runtime, cases, verify):
    checkpoint(runtime)
    with runtime.db.engine.begin() as conn:
        conn.execute(delete(AuditAnchor).where(AuditAnchor.chain == f"case:{cases[1]}"))
    code, out = verify()
    assert code == 1 and "checkpoint 1 does not match its seal" in out


def test_the_checkpoint_file_is_only_ever_appended_to(runtime, cases, on_this_db, tmp_path, capsys):
    out_file = tmp_path / "checkpoints.jsonl"
    assert main(["audit", "checkpoint", "--out", str(out_file)]) == 0
    assert main(["audit", "checkpoint", "--out", str(out_file)]) == 0  # nothing moved: nothing new
    assert "no chain moved since the last checkpoint" in capsys.readouterr().out
    runtime.start_instance("emergency_patient", PATIENT, "reception1")
    assert main(["audit", "checkpoint", "--out", str(out_file)]) == 0
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["id"] for r in records] == [1, 2] and records[1]["chains"] == 1


def test_without_the_key_nothing_is_recorded_or_vouched_for(runtime, cases, monkeypatch, verify):
    monkeypatch.setenv("ESTATEDESK_AUDIT_KEY", "another-key")
    code, out = verify()
    assert code == 1 and "seal does not match" in out  # a key other than the sealing one vouches for nothing
    monkeypatch.delenv("ESTATEDESK_AUDIT_KEY")
    with pytest.raises(AuditKeyMissing, match="ESTATEDESK_AUDIT_KEY"):
        runtime.start_instance("emergency_patient", PATIENT, "reception1")


def test_the_key_may_come_from_a_file(runtime, cases, monkeypatch, verify, tmp_path):
    key_file = tmp_path / "audit.key"
    key_file.write_text("test-audit-key\n")
    monkeypatch.delenv("ESTATEDESK_AUDIT_KEY")
    monkeypatch.setenv("ESTATEDESK_AUDIT_KEY_FILE", str(key_file))
    assert verify()[0] == 0


def test_verify_walks_in_batches(runtime, cases):
    with runtime.db.read_session() as session:
        whole = audit.verify_chain(session)
        batched = audit.verify_chain(session, batch=3)
    assert whole.ok and batched.ok and batched.checked == whole.checked > 3


def test_an_upgraded_database_verifies_and_chains_on(tmp_path):
    """Events recorded before 0009 keep their hashes, as the sealed `legacy` chain."""
    from engine.store.migrations import upgrade

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db.engine, "0008_idempotency_key")
    at = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    prev = GENESIS_HASH
    with db.engine.begin() as conn:
        for n in range(3):
            digest = audit.chain_hash(prev, audit.canonical_json(None, at, "deployed", "system", f"p{n}", {}))
            conn.execute(text("INSERT INTO event (instance_id, at, type, actor, element_id, data, prev_hash, hash)"
                              " VALUES (NULL, :at, 'deployed', 'system', :el, '{}', :prev, :hash)"),
                         {"at": at, "el": f"p{n}", "prev": prev, "hash": digest})
            prev = digest
        conn.execute(text("UPDATE audit_head SET last_event_id = 3, last_hash = :h"), {"h": prev})
    upgrade(db.engine)
    with db.session() as session, session.begin():
        audit.append_events(session, [audit.NewEvent(EventType.DEPLOYED, actor="system", element_id="p3")], at)
    with db.read_session() as session:
        assert str(audit.verify_chain(session)) == "audit chain intact: 4 events verified"
        assert session.get(AuditChain, "legacy").length == 3
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE event SET actor = 'x' WHERE id = 2"))
    with db.read_session() as session:
        result = audit.verify_chain(session)
    db.dispose()
    assert (result.ok, result.first_broken_id, result.kind) == (False, 2, "altered")


@pytest.mark.parametrize("command", [["serve"], ["worker", "--once"]])
def test_the_server_and_worker_refuse_to_start_without_the_key(command, on_this_db, monkeypatch, capsys):
    monkeypatch.delenv("ESTATEDESK_AUDIT_KEY")
    monkeypatch.delenv("ESTATEDESK_AUDIT_KEY_FILE", raising=False)
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "the audit key is not configured: set ESTATEDESK_AUDIT_KEY" in err


def test_verify_with_a_missing_checkpoint_file_is_bad_input(verify, tmp_path, capsys):
    assert main(["audit", "verify", "--checkpoints", str(tmp_path / "none.jsonl")]) == 2
    assert "no such checkpoint file" in capsys.readouterr().err


def append_in_open_transaction(db: Database, case_id: int):
    """A session that has appended an event to a case's chain and not committed: it holds what a step would."""
    session = db.session()
    session.begin()
    try:
        session.connection().exec_driver_sql("SET LOCAL lock_timeout = '1s'")
        audit.append_events(session, [audit.NewEvent(EventType.COMMENT_ADDED, case_id, "guard1", None,
                                                     {"text": "x"})], datetime(2026, 12, 7, 8, tzinfo=timezone.utc))
    except Exception:
        session.close()
        raise
    return session


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks are PostgreSQL's; SQLite runs one writer at a time")
def test_appends_to_different_cases_never_wait_on_one_row(runtime, cases):
    first = append_in_open_transaction(runtime.db, cases[0])
    try:
        second = append_in_open_transaction(runtime.db, cases[1])  # would time out behind one global row
        second.commit()
        with pytest.raises(OperationalError, match="lock timeout"):  # the same case's chain: one at a time
            append_in_open_transaction(runtime.db, cases[0])
    finally:
        first.rollback()
        first.close()
    with runtime.db.read_session() as session:
        assert audit.verify_chain(session).ok


def test_the_worker_checkpoints_and_exports_as_it_runs(runtime, cases, clock, tmp_path):
    out_file = tmp_path / "checkpoints.jsonl"
    chore = Chore(600, lambda now: checkpoint_and_export(runtime.db, now, out_file))

    class TenMinuteNaps(Wakeup):
        def __init__(self):
            super().__init__()
            self.slept = []

        def sleep(self, seconds):
            self.slept.append(seconds)
            if len(self.slept) == 1:  # a case opened meanwhile: the next checkpoint anchors it
                runtime.start_instance("emergency_patient", PATIENT, "reception1")
            clock.advance(seconds=seconds)
            if len(self.slept) == 3:
                self.stop()
            return False

    wakeup = TenMinuteNaps()
    run_worker(runtime, wakeup, recheck=3600, chores=(chore,))
    assert max(wakeup.slept) <= 600  # it wakes for the checkpoint even with no timer due
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [r["id"] for r in records] == [1, 2] and records[1]["chains"] == 1  # the third nap: nothing moved


def test_worker_once_with_checkpoint_out(runtime, cases, on_this_db, tmp_path, capsys):
    out_file = tmp_path / "checkpoints.jsonl"
    assert main(["worker", "--once", "--checkpoint-out", str(out_file)]) == 0
    assert json.loads(out_file.read_text())["id"] == 1


def test_steps_committing_while_verify_walks_are_no_break(runtime, cases, monkeypatch):
    """verify reads one snapshot: a case stepped between the walk and the heads is no cut head."""
    from engine.audit import verify as verify_module

    real = verify_module._check_heads

    def step_then_check(*args):  # a clerk comments on a case the walk has passed
        runtime.add_comment(cases[0], {"text": "住户来电催办"}, "reception1")
        return real(*args)

    monkeypatch.setattr(verify_module, "_check_heads", step_then_check)
    with runtime.db.read_session() as session:
        result = audit.verify_chain(session, batch=2)
    assert result.ok, str(result)


def test_a_key_file_named_but_missing_is_a_missing_key_naming_the_file(monkeypatch, tmp_path):
    from engine.audit.seal import audit_key

    monkeypatch.delenv("ESTATEDESK_AUDIT_KEY")
    monkeypatch.setenv("ESTATEDESK_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    with pytest.raises(AuditKeyMissing) as missing:
        audit_key()
    assert f"the key file {tmp_path / 'audit.key'} does not exist" in str(missing.value)
