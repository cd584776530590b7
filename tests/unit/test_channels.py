"""Each channel against a real peer on loopback: SMTP (aiosmtpd) over STARTTLS and TLS with a
login, the WeCom, DingTalk and Feishu robots in their JSON formats (the peer checks the
signatures), and the SMS gateway adapter; failures say what went wrong and whether
trying again can help."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from notify_peers import (
    DINGTALK_SECRET,
    FEISHU_SECRET,
    SMTP_PASSWORD,
    SMTP_USER,
    Hang,
    Reply,
    RobotPeer,
    make_certificate,
    smtp_peer,
)

from engine.channels import secrets
from engine.channels.sender import ChannelSender
from engine.errors import DeliveryFailed
from engine.scheduling.outbox import NotificationView, Outgoing, Recipient

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
DUE = datetime(2026, 11, 23, 9, 10, tzinfo=timezone.utc)  # 17:10 in China
GUARD = Recipient("guard1", "赵刚", "zh", {"phone": "13800000006", "dingtalk": "guard1", "wecom": "zhaogang",
                                          "feishu": "ou_guard1", "email": "guard1@example.com"})
VISITOR = Recipient("mike", "Mike", "en", {"phone": "13900000001", "email": "mike@example.com"})


def message(**changes) -> NotificationView:
    values = dict(id=7, created_at=NOW, to_role=None, to_user="guard1", site="nanshan", channel="web",
                  text="【紧急】JJ-20261123-0001（3-2-1201）：请立即到病人家中待命，期限 11-23 17:10",
                  text_en="[URGENT] JJ-20261123-0001 (unit 3-2-1201): stand by at the patient's home; due 11-23 17:10",
                  instance_id=1, task_id=None, kind="task_assigned", emergency=True, due_at=DUE,
                  link="/cases/JJ-20261123-0001", reference="JJ-20261123-0001", unit="3-2-1201")
    return NotificationView(**{**values, **changes})


def outgoing(kind: str, settings: dict, *people: Recipient, **changes) -> Outgoing:
    return Outgoing(41, changes.pop("message", message()), f"test_{kind}", kind, {"type": kind, **settings},
                    people or (GUARD,), "http://127.0.0.1:8000", None)


@pytest.fixture
def peer():
    server = RobotPeer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    made = make_certificate(tmp_path_factory.mktemp("tls"))
    if made is None:
        pytest.skip("openssl is needed to make the SMTP peer's certificate")
    return made


@pytest.fixture
def env(monkeypatch):
    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_


def email_settings(port: int, certificate, security: str) -> dict:
    return {"host": "127.0.0.1", "port": port, "security": security, "from": "南山花园服务中心 <desk@example.com>",
            "username": SMTP_USER, "password": {"env": "TEST_SMTP_PASSWORD"}, "ca_file": str(certificate[0]),
            "timeout": 5}


# -- email -------------------------------------------------------------------------------

@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_logs_in_over_tls_and_carries_plain_text_and_html(certificate, env, security):
    env(TEST_SMTP_PASSWORD=SMTP_PASSWORD)
    with smtp_peer(certificate, implicit_tls=security == "ssl") as (box, port):
        ChannelSender().send(outgoing("email", email_settings(port, certificate, security)))
        ((to, mail),) = box.messages
    assert to == ["guard1@example.com"] and mail["To"] == "guard1@example.com"
    assert mail["Subject"] == "【紧急】任务通知 JJ-20261123-0001"
    assert mail["Message-ID"] == "<estatedesk.7.41@example.com>"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "3-2-1201" in plain and "期限 11-23 17:10" in plain
    assert "打开：http://127.0.0.1:8000/cases/JJ-20261123-0001" in plain
    assert '<a href="http://127.0.0.1:8000/cases/JJ-20261123-0001">打开</a>' in html


def test_email_to_someone_reading_english_is_in_english(certificate, env):
    env(TEST_SMTP_PASSWORD=SMTP_PASSWORD)
    with smtp_peer(certificate) as (box, port):
        ChannelSender().send(outgoing("email", email_settings(port, certificate, "starttls"), VISITOR))
        ((_to, mail),) = box.messages
    assert mail["Subject"] == "[URGENT] New task JJ-20261123-0001"
    assert "stand by at the patient's home; due 11-23 17:10" in mail.get_body(("plain",)).get_content()


def test_email_with_a_wrong_password_fails_and_may_be_tried_again(certificate, env):
    env(TEST_SMTP_PASSWORD="wrong")
    with smtp_peer(certificate) as (box, port), pytest.raises(DeliveryFailed) as failed:
        ChannelSender().send(outgoing("email", email_settings(port, certificate, "starttls")))
    assert "535" in str(failed.value) and not failed.value.permanent and box.messages == []


def test_email_to_a_refused_address_is_dead_at_once(certificate, env):
    env(TEST_SMTP_PASSWORD=SMTP_PASSWORD)
    with smtp_peer(certificate) as (box, port), pytest.raises(DeliveryFailed) as failed:
        box.refuse.add("guard1@example.com")
        ChannelSender().send(outgoing("email", email_settings(port, certificate, "starttls")))
    assert failed.value.permanent and "550" in str(failed.value)


def test_email_to_a_closed_port_is_a_failure_to_try_again(certificate, env):
    env(TEST_SMTP_PASSWORD=SMTP_PASSWORD)
    from notify_peers import free_port

    with pytest.raises(DeliveryFailed) as failed:
        ChannelSender().send(outgoing("email", email_settings(free_port(), certificate, "starttls")))
    assert not failed.value.permanent and "127.0.0.1" in str(failed.value)


# -- group robots --------------------------------------------------------------------------

def test_wecom_posts_text_mentioning_by_userid_or_mobile(peer, env):
    env(TEST_WECOM=peer.url("/wecom") + "?key=k1")
    no_wecom_id = Recipient("guard2", "孙伟", "zh", {"phone": "13800000007"})
    ChannelSender().send(outgoing("wecom", {"webhook": {"env": "TEST_WECOM"}}, GUARD, no_wecom_id))
    (seen,) = peer.requests("/wecom")
    assert seen.query == {"key": "k1"} and seen.json["msgtype"] == "text"
    text = seen.json["text"]
    assert text["content"].startswith("【紧急】JJ-20261123-0001（3-2-1201）")
    assert text["content"].endswith("打开：http://127.0.0.1:8000/cases/JJ-20261123-0001")
    assert text["mentioned_list"] == ["zhaogang"] and text["mentioned_mobile_list"] == ["13800000007"]


def test_dingtalk_signs_the_request_and_mentions_each_person(peer, env):
    env(TEST_DING=peer.url("/dingtalk") + "?access_token=t1", TEST_DING_SECRET=DINGTALK_SECRET)
    phone_only = Recipient("guard2", "孙伟", "zh", {"phone": "13800000007"})
    settings = {"webhook": {"env": "TEST_DING"}, "secret": {"env": "TEST_DING_SECRET"}}
    ChannelSender().send(outgoing("dingtalk", settings, GUARD, phone_only))  # the peer checked the signature
    (seen,) = peer.requests("/dingtalk")
    assert seen.query["access_token"] == "t1" and {"timestamp", "sign"} <= seen.query.keys()
    assert seen.json["at"] == {"atMobiles": ["13800000007"], "atUserIds": ["guard1"], "isAtAll": False}
    assert seen.json["text"]["content"].endswith("@guard1 @13800000007")


def test_dingtalk_refusing_the_signature_in_a_200_is_a_failure(peer, env):
    env(TEST_DING=peer.url("/dingtalk") + "?access_token=t1", TEST_DING_SECRET="SECnot-the-robots-secret")
    settings = {"webhook": {"env": "TEST_DING"}, "secret": {"env": "TEST_DING_SECRET"}}
    with pytest.raises(DeliveryFailed, match="errcode 310000: sign not match"):
        ChannelSender().send(outgoing("dingtalk", settings))


def test_feishu_signs_the_body_and_at_mentions_by_open_id(peer, env):
    env(TEST_FEISHU=peer.url("/feishu"), TEST_FEISHU_SECRET=FEISHU_SECRET)
    settings = {"webhook": {"env": "TEST_FEISHU"}, "secret": {"env": "TEST_FEISHU_SECRET"}}
    ChannelSender().send(outgoing("feishu", settings))
    (seen,) = peer.requests("/feishu")
    assert seen.json["msg_type"] == "text" and seen.json["timestamp"].isdigit()
    assert seen.json["content"]["text"].endswith('<at user_id="ou_guard1">赵刚</at>')


def test_feishu_with_a_wrong_secret_is_refused(peer, env):
    env(TEST_FEISHU=peer.url("/feishu"), TEST_FEISHU_SECRET="nope")
    settings = {"webhook": {"env": "TEST_FEISHU"}, "secret": {"env": "TEST_FEISHU_SECRET"}}
    with pytest.raises(DeliveryFailed, match="code 19021"):
        ChannelSender().send(outgoing("feishu", settings))


def test_a_robot_post_for_english_readers_only_is_in_english(peer, env):
    env(TEST_WECOM=peer.url("/wecom"))
    ChannelSender().send(outgoing("wecom", {"webhook": {"env": "TEST_WECOM"}}, VISITOR))
    assert peer.requests("/wecom")[0].json["text"]["content"].startswith("[URGENT] JJ-20261123-0001 (unit 3-2-1201)")


# -- SMS gateway -------------------------------------------------------------------------

SMS = {"url": {"env": "TEST_SMS_URL"}, "headers": {"Authorization": {"env": "TEST_SMS_TOKEN"}},
       "signature": "南山花园物业", "timeout": 1,
       "body": {"phone": "{phone}", "sign_name": "{signature}", "template": "NOTIFY_001",
                "params": {"reference": "{reference}", "unit": "{unit}", "due": "{due}"}, "out_id": "{id}"},
       "success": {"status": [200], "field": "code", "equals": ["OK"]}, "error_field": "message"}


@pytest.fixture
def sms_env(peer, env):
    env(TEST_SMS_URL=peer.url("/sms"), TEST_SMS_TOKEN="Bearer sms-token")


def test_sms_fills_the_providers_template_with_signature_and_credentials(peer, sms_env):
    ChannelSender().send(outgoing("sms", SMS))
    (seen,) = peer.requests("/sms")
    assert seen.headers["Authorization"] == "Bearer sms-token"
    assert seen.json == {"phone": "13800000006", "sign_name": "南山花园物业", "template": "NOTIFY_001",
                         "params": {"reference": "JJ-20261123-0001", "unit": "3-2-1201", "due": "11-23 17:10"},
                         "out_id": "41"}


def test_sms_as_a_form_with_the_signed_text(peer, env):
    env(TEST_SMS_URL=peer.url("/sms"), TEST_SMS_KEY="k-123")
    settings = {"url": {"env": "TEST_SMS_URL"}, "format": "form", "signature": "滨海苑物业",
                "body": {"mobile": "{phone}", "content": "{signed_text}", "key": {"env": "TEST_SMS_KEY"}}}
    ChannelSender().send(outgoing("sms", settings))
    form = peer.requests("/sms")[0].form
    assert form["mobile"] == "13800000006" and form["key"] == "k-123"
    assert form["content"].startswith("【滨海苑物业】【紧急】JJ-20261123-0001（3-2-1201）")


@pytest.mark.parametrize("behaviour, expected, permanent", [
    (Reply(200, {"code": "isv.BUSINESS_LIMIT_CONTROL", "message": "触发流控"}), "code='isv.BUSINESS_LIMIT_CONTROL' (触发流控)",
     False),
    (Reply(500, "gateway exploded"), "HTTP 500: gateway exploded", False),
    (Reply(401, {"message": "bad token"}), "HTTP 401", True),
    (Hang(3), "did not answer within 1 s", False),
])
def test_sms_gateway_failures_say_what_happened(peer, sms_env, behaviour, expected, permanent):
    peer.then("/sms", behaviour)
    with pytest.raises(DeliveryFailed) as failed:
        ChannelSender().send(outgoing("sms", SMS))
    assert expected in str(failed.value) and failed.value.permanent is permanent


def test_sms_to_someone_without_a_phone_number_cannot_succeed(peer, sms_env):
    with pytest.raises(DeliveryFailed, match="no phone number") as failed:
        ChannelSender().send(outgoing("sms", SMS, Recipient("env1", "郑洁")))
    assert failed.value.permanent and peer.requests("/sms") == []


# -- credentials ---------------------------------------------------------------------------

def test_credentials_come_from_the_environment_or_the_secrets_file(tmp_path, monkeypatch):
    monkeypatch.delenv("TEST_NOT_SET", raising=False)
    monkeypatch.delenv(secrets.SECRETS_FILE_ENV, raising=False)
    sender = ChannelSender()
    assert sender.unavailable("sms", {"url": {"env": "TEST_NOT_SET"}}, None) == \
        "environment variable TEST_NOT_SET is not set"
    assert "needs a secrets file" in sender.unavailable("sms", {"url": {"secret": "sms_url"}}, None)
    vault = tmp_path / "secrets.yaml"
    vault.write_text("sms_url: http://127.0.0.1:1/sms\n", encoding="utf-8")
    assert sender.unavailable("sms", {"url": {"secret": "sms_url"}}, str(vault)) is None
    assert secrets.resolve({"secret": "sms_url"}, str(vault)) == "http://127.0.0.1:1/sms"
    assert "has no 'other'" in sender.unavailable("sms", {"url": {"secret": "other"}}, str(vault))
    monkeypatch.setenv(secrets.SECRETS_FILE_ENV, str(tmp_path / "missing.yaml"))  # the variable wins
    assert "cannot read the secrets file" in sender.unavailable("sms", {"url": {"secret": "sms_url"}}, str(vault))
