"""Group robots: a webhook that posts into one chat group, each in its documented JSON format.

- WeCom 企业微信: `{"msgtype": "text", "text": {"content", "mentioned_list", "mentioned_mobile_list"}}`,
  answered `{"errcode": 0, "errmsg": "ok"}`; @ by userid (contacts.wecom) or mobile.
- DingTalk 钉钉: `{"msgtype": "text", "text": {"content"}, "at": {"atMobiles", "atUserIds"}}`; with a
  signing secret the URL carries `timestamp` (ms) and `sign` = base64(HMAC-SHA256(secret,
  "timestamp\\nsecret")); answered `{"errcode": 0}`. An @mobile shows only when the text has it.
- Feishu 飞书: `{"msg_type": "text", "content": {"text"}}` with `<at user_id="…">name</at>` in the
  text; with a secret, `timestamp` (s) and `sign` = base64(HMAC-SHA256(key="timestamp\\nsecret",
  msg="")) in the body; answered `{"code": 0}` (older robots: `{"StatusCode": 0}`).

An error code in a 200 answer is a failure like any other. Signatures use the wall clock:
the robots compare the timestamp with their own time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

from engine.channels import secrets
from engine.channels.webrequest import post_json
from engine.errors import DeliveryFailed
from engine.scheduling.messages import render
from engine.scheduling.outbox import Outgoing


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def send_wecom(outgoing: Outgoing) -> None:
    text = _text(outgoing)
    ids = [p.contact("wecom") for p in outgoing.recipients if p.contact("wecom")]
    phones = [p.contact("phone") for p in outgoing.recipients if not p.contact("wecom") and p.contact("phone")]
    body = {"msgtype": "text", "text": {"content": text, "mentioned_list": ids, "mentioned_mobile_list": phones}}
    answer = post_json(_webhook(outgoing), body, outgoing.settings.get("timeout")).json() or {}
    _check(answer, "errcode", "errmsg", "WeCom")


def send_dingtalk(outgoing: Outgoing) -> None:
    ids = [p.contact("dingtalk") for p in outgoing.recipients if p.contact("dingtalk")]
    phones = [p.contact("phone") for p in outgoing.recipients if not p.contact("dingtalk") and p.contact("phone")]
    mentions = " ".join(f"@{who}" for who in ids + phones)
    body = {"msgtype": "text", "text": {"content": _text(outgoing) + (f"\n{mentions}" if mentions else "")},
            "at": {"atMobiles": phones, "atUserIds": ids, "isAtAll": False}}
    url = _webhook(outgoing)
    if outgoing.settings.get("secret"):
        secret = secrets.resolve(outgoing.settings["secret"], outgoing.secrets_file)
        stamp = int(time.time() * 1000)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"timestamp": stamp,
                                                                      "sign": dingtalk_sign(secret, stamp)})
    answer = post_json(url, body, outgoing.settings.get("timeout")).json() or {}
    _check(answer, "errcode", "errmsg", "DingTalk")


def send_feishu(outgoing: Outgoing) -> None:
    mentions = " ".join(f'<at user_id="{p.contact("feishu")}">{p.name}</at>'
                        for p in outgoing.recipients if p.contact("feishu"))
    body = {"msg_type": "text", "content": {"text": _text(outgoing) + (f"\n{mentions}" if mentions else "")}}
    if outgoing.settings.get("secret"):
        secret = secrets.resolve(outgoing.settings["secret"], outgoing.secrets_file)
        stamp = int(time.time())
        body = {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp), **body}
    answer = post_json(_webhook(outgoing), body, outgoing.settings.get("timeout")).json() or {}
    if "StatusCode" in answer and "code" not in answer:
        _check(answer, "StatusCode", "StatusMessage", "Feishu")
    else:
        _check(answer, "code", "msg", "Feishu")


def _text(outgoing: Outgoing) -> str:
    """The post in the group's language: the channel's `language`, else English only if everyone reads it."""
    language = outgoing.settings.get("language")
    if language is None:
        everyone_en = outgoing.recipients and all(p.language == "en" for p in outgoing.recipients)
        language = "en" if everyone_en else "zh"
    return render(outgoing.message, language, outgoing.base_url).text


def _webhook(outgoing: Outgoing) -> str:
    return secrets.resolve(outgoing.settings["webhook"], outgoing.secrets_file)


def _check(answer: dict, code_key: str, message_key: str, robot: str) -> None:
    code = answer.get(code_key)
    if code != 0:
        raise DeliveryFailed(f"{robot} robot answered {code_key} {code}: {answer.get(message_key) or answer}")
