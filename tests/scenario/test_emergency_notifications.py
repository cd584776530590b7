"""An emergency reaches people's phones: the security lead sends two guards to a patient and
the worker's next pass tells each of them by the security group's DingTalk robot and by
SMS; a gateway that keeps failing ends in the supervisor's alert; a worker killed in the
middle of a send and started again sends nothing twice. The robot, the SMS gateway and
the mail server are real peers on loopback (tests/notify_peers.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from notify_peers import (
    DINGTALK_SECRET,
    SMTP_PASSWORD,
    SMTP_USER,
    Hold,
    Reply,
    RobotPeer,
    make_certificate,
    smtp_peer,
)
from sqlalchemy import select

from engine.accounts.users import load_actor, load_demo_staff
from engine.audit.events import EventType
from engine.channels.sender import ChannelSender
from engine.definitions.library import Bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.runtime.queries import list_events, list_tasks
from engine.runtime.step import Runtime
from engine.scheduling.outbox import list_notifications
from engine.store.models import DeliveryState, NotificationDelivery

ROOT = Path(__file__).resolve().parents[2]
AT = "2026-11-23T09:05:00+00:00"
GUARD_PHONES = {"13800000006": "guard1", "13800000007": "guard2"}
LEAD_PHONE, SUPERVISOR_PHONE = "13800000005", "13800000003"


@pytest.fixture
def peer(monkeypatch):
    server = RobotPeer().start()
    for name, value in {"NANSHAN_DINGTALK_WEBHOOK": server.url("/dingtalk") + "?access_token=security",
                        "NANSHAN_DINGTALK_SECRET": DINGTALK_SECRET, "NANSHAN_SMS_URL": server.url("/sms"),
                        "NANSHAN_SMS_TOKEN": "Bearer sms"}.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def deployed(db, clock, bundle: Bundle) -> Runtime:
    rt = Runtime(db, clock, sender=ChannelSender())
    with rt.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="system", note="test")
    return rt


def dispatch_two_guards(rt: Runtime) -> int:
    """Reception takes the call and tells the security lead, who sends 赵刚 and 孙伟 to the patient."""
    case = rt.start_instance("emergency_patient", {}, "reception1").instance
    for element, user, data in (
            ("choose_help", "reception1", dict(caller="林先生", patient_name="林老先生", unit="3-2-1201",
                                               phone="13800000000", condition="晕倒", received_at=AT,
                                               help_type="hospital", major=False)),
            ("notify_security_lead", "reception1", dict(security_lead_name="刘队长", lead_notified_at=AT)),
            ("dispatch_guards", "seclead1", dict(guards=["赵刚", "孙伟"], standby_place="patient_home",
                                                 dispatched_at=AT))):
        with rt.db.session() as session:
            (task,) = [t for t in list_tasks(session, instance_id=case.id) if t.element_id == element]
        rt.complete_task(task.id, data, user)
    return case.id


def sms_to(peer) -> list[str]:
    return [seen.json["phone"] for seen in peer.requests("/sms")]


def mentioned(peer) -> list[list[str]]:
    return [seen.json["at"]["atUserIds"] for seen in peer.requests("/dingtalk")]


def test_an_emergency_dispatch_reaches_both_guards_by_robot_and_sms_in_one_worker_cycle(db, clock, library, peer):
    rt = deployed(db, clock, library)
    case_id = dispatch_two_guards(rt)
    assert peer.seen == []  # steps only write the outbox; the worker delivers
    rt.fire_due_timers()  # one worker cycle

    assert sorted(mentioned(peer)) == [["guard1"], ["guard2"], ["seclead1"]]  # the lead heard of the task too
    assert sorted(sms_to(peer)) == sorted([LEAD_PHONE, *GUARD_PHONES])
    for seen in peer.requests("/dingtalk"):
        if seen.json["at"]["atUserIds"] != ["seclead1"]:
            text = seen.json["text"]["content"]
            assert text.startswith("【紧急】JJ-20261123-0001（3-2-1201）：请立即到病人家中待命，准备护送病人就医")
            assert "打开：http://127.0.0.1:8000/cases/JJ-20261123-0001" in text
    guard_sms = [s.json for s in peer.requests("/sms") if s.json["phone"] in GUARD_PHONES]
    assert {s["params"]["reference"] for s in guard_sms} == {"JJ-20261123-0001"}
    assert {s["params"]["unit"] for s in guard_sms} == {"3-2-1201"} and {s["sign_name"] for s in guard_sms} == {"南山花园物业"}

    with rt.db.session() as session:
        states = session.scalars(select(NotificationDelivery.state)).all()
        sent = [e for e in list_events(session, case_id) if e.type == EventType.NOTIFICATION_SENT]
    assert set(states) == {DeliveryState.SENT} and len(states) == 6
    assert sorted(tuple(e.data["to"]) for e in sent if e.data["channel_type"] == "sms") == [
        ("guard1",), ("guard2",), ("seclead1",)]
    rt.fire_due_timers()
    assert len(peer.seen) == 6  # the next cycle sends nothing again


@pytest.fixture
def certificate(tmp_path_factory):
    made = make_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("openssl is needed to make the SMTP peer's certificate")
    return made


def with_mail_server(library: Bundle, port: int, cert: Path) -> Bundle:
    """The library with the site's mail relay at the loopback peer, whose certificate it trusts."""
    text = library.rules["notifications.yaml"].replace(
        "        port: 587\n", f"        port: {port}\n        ca_file: {cert}\n", 1)
    return Bundle(library.bpmn, library.dmn, library.forms, {**library.rules, "notifications.yaml": text})


def test_a_gateway_that_keeps_failing_ends_in_the_supervisors_alert(db, clock, library, peer, certificate,
                                                                    monkeypatch):
    monkeypatch.setenv("NANSHAN_SMTP_USER", SMTP_USER)
    monkeypatch.setenv("NANSHAN_SMTP_PASSWORD", SMTP_PASSWORD)
    peer.then("/sms", *[Reply(500, "gateway down")] * 30)
    with smtp_peer(certificate) as (box, port):
        rt = deployed(db, clock, with_mail_server(library, port, certificate[0]))
        case_id = dispatch_two_guards(rt)
        rt.fire_due_timers()
        for wait in (10, 20, 40):  # emergency_retry: 4 tries, 10 s then doubling
            assert box.messages == []
            clock.advance(seconds=wait)
            rt.fire_due_timers()
        mails = [mail for _to, mail in box.messages]

    # Each guard's SMS (and the lead's) died after its last try; the robot posts got through.
    with rt.db.session() as session:
        deliveries = session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)).all()
        dead = [e for e in list_events(session, case_id) if e.type == EventType.NOTIFICATION_DEAD]
        supervisor = list_notifications(session, load_actor(session, "supervisor1"))
    failed_sms = [d for d in deliveries if d.channel == "sms" and d.recipients != ["supervisor1"]]
    assert [(d.state, d.attempts) for d in failed_sms] == [(DeliveryState.DEAD, 4)] * 3
    assert "HTTP 500: gateway down" in failed_sms[0].last_error
    assert sorted(e.data["to"][0] for e in dead if e.data["to"] != ["supervisor1"]) == ["guard1", "guard2", "seclead1"]
    assert {e.data.get("alerted") for e in dead if e.data["to"] != ["supervisor1"]} == {"cs_supervisor"}

    # The supervisor is told, in the app and by mail (their SMS goes through the same dead gateway).
    alerts = [n for n in supervisor if n.kind == "delivery_failed"]
    assert len(alerts) == 3 and all(n.emergency for n in alerts)
    assert any("发给赵刚的紧急通知（sms）未能送达，请立即电话联系" in n.text for n in alerts)
    assert len(mails) == 3 and {m["To"] for m in mails} == {"supervisor1@example.com"}
    assert all(m["Subject"] == "【紧急】通知未送达 JJ-20261123-0001" for m in mails)

    # The alerts' own SMS die too, and raise no alert of their own.
    for wait in (10, 20, 40):
        clock.advance(seconds=wait)
        rt.fire_due_timers()
    with rt.db.session() as session:
        alert_sms = session.scalars(select(NotificationDelivery.state).where(
            NotificationDelivery.channel == "sms", NotificationDelivery.recipient_key == "supervisor1")).all()
        assert len(list_notifications(session, load_actor(session, "supervisor1"))) == 3
    assert alert_sms == [DeliveryState.DEAD] * 3


def _worker_once(db_url: str, moment: datetime) -> subprocess.Popen:
    """`estatedesk worker --once` in a process of its own, its clock set to `moment`."""
    offset = (moment - datetime.now(timezone.utc)).total_seconds()
    return subprocess.Popen([sys.executable, "-m", "cli", "worker", "--once", "--clock-offset", str(offset)],
                            cwd=ROOT, env={**os.environ, "DATABASE_URL": db_url}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_worker_killed_mid_send_and_started_again_sends_nothing_twice(db, db_url, clock, library, peer):
    rt = deployed(db, clock, library)
    case_id = dispatch_two_guards(rt)
    held = Hold()
    peer.then("/sms", Reply(), held)  # the lead's SMS goes through; guard1's is taken and not answered
    worker = _worker_once(db_url, clock.now())
    assert held.received.wait(60), "the worker never sent guard1's SMS"
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)
    held.release.set()
    sent_before = len(peer.seen)

    # Started again at once: the claimed SMS is not sent again, whatever became of it...
    again = _worker_once(db_url, clock.now())
    assert again.communicate(timeout=60)[0] == "fired timers on 0 case(s)\n"
    # ...and once its claim is older than the lease, it is marked unconfirmed, never resent.
    later = _worker_once(db_url, clock.now() + timedelta(minutes=6))
    assert later.communicate(timeout=60)[0] == "fired timers on 0 case(s)\n"

    phones = sms_to(peer)
    assert sorted(phones) == sorted([LEAD_PHONE, *GUARD_PHONES, SUPERVISOR_PHONE])  # each once
    assert sorted(mentioned(peer)) == [["guard1"], ["guard2"], ["seclead1"]]
    assert len(peer.seen) > sent_before
    with rt.db.session() as session:
        guard1_sms = session.scalars(select(NotificationDelivery).where(
            NotificationDelivery.channel == "sms", NotificationDelivery.recipient_key == "guard1")).one()
        events = [e for e in list_events(session, case_id) if e.type == EventType.NOTIFICATION_UNCONFIRMED]
    assert guard1_sms.state == DeliveryState.UNCONFIRMED and guard1_sms.attempts == 1
    assert [e.data["to"] for e in events] == [["guard1"]] and events[0].data["alerted"] == "cs_supervisor"


def test_the_technician_is_told_when_their_arrival_is_overdue(start_drawn_case, sla_limit, runtime):
    """overdue is routed to technicians (sms): the breach of 即时到场 tells them, besides the chase."""
    from test_repair import DISPATCH, open_order

    case = open_order(start_drawn_case)
    case.complete("assign_technician", "engsup1", **DISPATCH)  # the supervisor sends tech1 (001/第8篇 4.1 2))
    case.wait(seconds=sla_limit("repair.arrive_now").total_seconds() + 1)
    with runtime.db.session() as session:
        told = [n.text for n in list_notifications(session, load_actor(session, "tech1")) if n.kind == "overdue"]
    assert told == [f"{case.reference}（5栋3楼302）：「即时到场」已超时，请尽快处理，期限 11-23 17:10"]
