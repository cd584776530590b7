"""The outbox's delivery: fan-out by kind, role and person, quiet hours, exponential backoff
with a cap and the dead letter, a recorded success never sent again, the recipient resolver
the duty roster will plug into, and the counters. Real peers on loopback, the fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from notify_peers import DINGTALK_SECRET, Reply, RobotPeer
from sqlalchemy import select

from engine.accounts.users import load_demo_staff
from engine.audit.events import EventType
from engine.channels.sender import ChannelSender
from engine.clock import LOCAL_TZ, FakeClock
from engine.definitions.library import Bundle, deploy_bundle
from engine.definitions.rules import load_rules
from engine.policy.notifications import QuietHours, RetryPolicy
from engine.runtime.queries import list_events
from engine.runtime.step import Runtime
from engine.scheduling import metrics
from engine.scheduling.delivery import send_pending
from engine.scheduling.outbox import notify
from engine.scheduling.recipients import RoleHolders
from engine.store.models import DeliveryState, NotificationDelivery


@pytest.fixture
def peer(monkeypatch):
    server = RobotPeer().start()
    for name, value in {"NANSHAN_DINGTALK_WEBHOOK": server.url("/dingtalk") + "?access_token=t",
                        "NANSHAN_DINGTALK_SECRET": DINGTALK_SECRET, "NANSHAN_SMS_URL": server.url("/sms"),
                        "NANSHAN_SMS_TOKEN": "Bearer t"}.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def make_runtime(db, clock, library, staff_text: str | None = None, recipients=None) -> Runtime:
    rules = dict(library.rules)
    if staff_text is not None:
        rules["staff.yaml"] = staff_text
    bundle = Bundle(library.bpmn, library.dmn, library.forms, rules)
    rt = Runtime(db, clock, sender=ChannelSender(), recipients=recipients)
    with rt.transaction() as session:
        load_demo_staff(session, load_rules(bundle.rules))
        deploy_bundle(session, bundle, actor="system", note="test")
    return rt


@pytest.fixture
def rt(db, clock, library):
    return make_runtime(db, clock, library)


def a_case(rt) -> int:
    return rt.start_instance("repair", {"unit": "5-1-302"}, "reception1").instance.id


def tell(rt, emergency=False, kind="task_assigned", instance_id=None, **to) -> None:
    with rt.transaction() as session:
        notify(session, rt.clock.now(), text="JJ-1（5-1-302）：请处理「检查区域」", text_en="JJ-1: please check",
               site="nanshan", kind=kind, emergency=emergency, instance_id=instance_id,
               **(to or {"to_role": "guard"}))


def deliveries(rt) -> list[NotificationDelivery]:
    with rt.db.session() as session:
        return session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)).all()


def test_a_role_message_is_one_robot_post_mentioning_everyone_and_one_sms_each(rt, peer):
    tell(rt)
    assert send_pending(rt, rt.clock.now()) == 3
    (post,) = peer.requests("/dingtalk")
    assert post.json["at"]["atUserIds"] == ["guard1", "guard2"]
    assert sorted(s.json["phone"] for s in peer.requests("/sms")) == ["13800000006", "13800000007"]
    assert [(d.channel, d.recipients, d.state) for d in deliveries(rt)] == [
        ("sms", ["guard1"], DeliveryState.SENT), ("sms", ["guard2"], DeliveryState.SENT),
        ("security_group", ["guard1", "guard2"], DeliveryState.SENT)]


def test_a_channel_whose_credential_is_not_set_is_skipped_and_the_log_says_so(rt, peer, monkeypatch, caplog):
    monkeypatch.delenv("NANSHAN_SMS_TOKEN")
    tell(rt)
    with caplog.at_level("WARNING", logger="estatedesk.notifications"):
        send_pending(rt, rt.clock.now())
    assert [d.channel for d in deliveries(rt)] == ["security_group"] and peer.requests("/sms") == []
    assert "channel sms at nanshan is not used: environment variable NANSHAN_SMS_TOKEN is not set" in caplog.text


def test_failures_back_off_exponentially_up_to_the_cap_then_the_delivery_is_dead(rt, peer, clock):
    case = a_case(rt)
    peer.then("/sms", *[Reply(500, "busy")] * 20)
    dead_before = metrics.delivered("sms", "dead")
    tell(rt, to_user="guard1", instance_id=case)
    waits = []
    for _ in range(6):  # notifications.yaml retry: 6 tries, 30 s doubling, at most 30 minutes
        send_pending(rt, clock.now())
        (sms,) = [d for d in deliveries(rt) if d.channel == "sms"]
        if sms.state != DeliveryState.PENDING:
            break
        waits.append((sms.next_attempt_at - clock.now()).total_seconds())
        clock.advance(seconds=waits[-1])
    assert waits == [30, 60, 120, 240, 480]
    assert (sms.state, sms.attempts) == (DeliveryState.DEAD, 6) and "HTTP 500: busy" in sms.last_error
    assert len(peer.requests("/sms")) == 6 and len(peer.requests("/dingtalk")) == 1  # the post went once
    with rt.db.session() as session:
        trail = [e.type for e in list_events(session, case) if e.type.startswith("notification_")]
    assert sorted(trail) == sorted([EventType.NOTIFICATION_SENT] + [EventType.NOTIFICATION_FAILED] * 5
                                   + [EventType.NOTIFICATION_DEAD])
    assert metrics.delivered("sms", "dead") == dead_before + 1


def test_the_backoff_is_capped():
    policy = RetryPolicy(attempts=20, first=timedelta(seconds=30), factor=2, max=timedelta(minutes=30))
    assert [policy.delay(n).total_seconds() for n in (1, 2, 6, 7, 12)] == [30, 60, 960, 1800, 1800]


def test_a_delivery_whose_success_was_recorded_is_never_sent_again(rt, peer, clock):
    peer.then("/dingtalk", Reply(200, {"errcode": 130101, "errmsg": "send too fast"}))
    tell(rt)
    send_pending(rt, clock.now())
    for _ in range(3):  # the robot post is retried; the SMS, already sent, never again
        clock.advance(minutes=5)
        send_pending(rt, clock.now())
    assert len(peer.requests("/sms")) == 2 and len(peer.requests("/dingtalk")) == 2
    assert {d.state for d in deliveries(rt)} == {DeliveryState.SENT}


def test_quiet_hours_hold_a_message_till_morning_but_never_an_emergency(db, library, peer):
    clock = FakeClock(local(2026, 11, 23, 23, 30))
    rt = make_runtime(db, clock, library)
    tell(rt)
    tell(rt, emergency=True, to_user="guard2")
    send_pending(rt, clock.now())
    assert sorted(s.json["phone"] for s in peer.requests("/sms")) == ["13800000007"]  # the emergency only
    held = [d for d in deliveries(rt) if d.state == DeliveryState.PENDING]
    assert {d.held_until for d in held} == {local(2026, 11, 24, 7, 0)} and len(held) == 3
    clock.advance(hours=7, minutes=30)
    send_pending(rt, clock.now())
    assert len(peer.requests("/sms")) == 3 and {d.state for d in deliveries(rt)} == {DeliveryState.SENT}


def test_someone_without_quiet_hours_is_reached_at_night(db, library, peer):
    clock = FakeClock(local(2026, 11, 23, 23, 30))
    rt = make_runtime(db, clock, library)
    tell(rt, to_role="security_lead")  # seclead1: quiet_hours: none in staff.yaml
    send_pending(rt, clock.now())
    assert [s.json["phone"] for s in peer.requests("/sms")] == ["13800000005"]


def test_quiet_hours_across_midnight():
    quiet = QuietHours.parse("22:00-07:00")
    assert quiet.until(local(2026, 11, 23, 21, 59)) is None
    assert quiet.until(local(2026, 11, 23, 22, 0)) == local(2026, 11, 24, 7, 0)
    assert quiet.until(local(2026, 11, 24, 6, 59)) == local(2026, 11, 24, 7, 0)
    assert quiet.until(local(2026, 11, 24, 7, 0)) is None
    assert QuietHours.parse("12:00-24:00").until(local(2026, 11, 23, 23, 0)) == local(2026, 11, 24, 0, 0)


def test_people_who_read_english_get_english(db, clock, library, peer):
    staff = library.rules["staff.yaml"].replace("{username: guard2, name: 孙伟, roles: [guard], site: nanshan,",
                                                "{username: guard2, name: 孙伟, roles: [guard], site: nanshan, language: en,")
    rt = make_runtime(db, clock, library, staff)
    tell(rt)
    send_pending(rt, clock.now())
    texts = {s.json["phone"]: s.json["params"]["text"] for s in peer.requests("/sms")}
    assert texts["13800000006"].startswith("JJ-1（5-1-302）：请处理") and texts["13800000007"].startswith("JJ-1: please check")
    assert peer.requests("/dingtalk")[0].json["text"]["content"].startswith("JJ-1（5-1-302）")  # a mixed group: Chinese


class OnDuty(RoleHolders):
    """A stand-in duty roster: after hours only the guard on duty hears of the role's messages."""

    def __init__(self):
        self.asked = []

    def recipients(self, session, query):
        self.asked.append((query.role, query.site, query.after_hours, query.emergency))
        return ["guard2"] if query.after_hours else super().recipients(session, query)


@pytest.mark.parametrize("at, reached, after_hours", [
    (local(2026, 11, 23, 10, 0), ["13800000006", "13800000007"], False),  # office hours: every guard
    (local(2026, 11, 23, 20, 0), ["13800000007"], True),  # after hours, before quiet hours: the roster
])
def test_after_hours_the_recipient_resolver_names_who_is_reached(db, library, peer, at, reached, after_hours):
    roster = OnDuty()
    rt = make_runtime(db, FakeClock(at), library, recipients=roster)
    tell(rt)
    send_pending(rt, at)
    assert sorted(s.json["phone"] for s in peer.requests("/sms")) == reached
    assert roster.asked == [("guard", "nanshan", after_hours, False)]


def test_without_notifications_yaml_messages_only_go_to_the_log(db, clock, library, peer, caplog):
    rules = {k: v for k, v in library.rules.items() if k != "notifications.yaml"}
    rt = make_runtime(db, clock, Bundle(library.bpmn, library.dmn, library.forms, rules))
    tell(rt)
    with caplog.at_level("INFO", logger="estatedesk.notifications"):
        assert send_pending(rt, clock.now()) == 1
    assert peer.seen == [] and [d.channel for d in deliveries(rt)] == ["log"]
    assert "via log to role guard@nanshan" in caplog.text
