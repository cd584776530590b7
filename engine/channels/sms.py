"""SMS through an HTTP gateway: one generic adapter, configured per provider.

Chinese SMS providers want a registered signature (签名, shown as 【…】) and usually an
approved template whose variables are sent apart; others take the whole text. So the
request is written in notifications.yaml: `url`, `method` (POST or GET), `format` (json or
form), `headers`, and a `body` whose strings may hold placeholders:

    {phone} {text} {signed_text} {signature} {reference} {unit} {due} {link} {subject} {id}

(`signed_text` is `【signature】text`; `id` is the delivery's number, for gateways that drop
a repeated id). Credentials are secret references anywhere in url, headers or body.
`success` says what a sent message looks like: HTTP statuses (default any 2xx) and a field
of the JSON answer (dotted path) equal to one of `equals`; `error_field` names the field
that explains a refusal.
"""

from __future__ import annotations

import json
import urllib.parse

from engine.channels import secrets
from engine.channels.webrequest import request
from engine.errors import DeliveryFailed
from engine.policy.notifications import fill_template
from engine.scheduling.messages import local_minute, render
from engine.scheduling.outbox import Outgoing


def send_sms(outgoing: Outgoing) -> None:
    """Send the message to the one person the delivery is for, as the gateway's settings say."""
    settings = outgoing.settings
    (person,) = outgoing.recipients
    phone = person.contact("phone")
    if not phone:
        raise DeliveryFailed(f"staff.yaml gives {person.username} no phone number", permanent=True)
    values = placeholders(outgoing, person.language, phone)
    body = _filled(secrets.resolve_all(settings["body"], outgoing.secrets_file), values)
    url = secrets.resolve(settings["url"], outgoing.secrets_file)
    headers = {k: secrets.resolve(v, outgoing.secrets_file) for k, v in (settings.get("headers") or {}).items()}
    method, form = settings.get("method", "POST"), settings.get("format", "json")
    data = None
    if method == "GET":
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(_flat(body))
    elif form == "form":
        data = urllib.parse.urlencode(_flat(body)).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    else:
        data = json.dumps(body, ensure_ascii=False).encode()
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    answer = request(method, url, data, headers, settings.get("timeout"))
    _check(answer, settings.get("success") or {}, settings.get("error_field"))


def placeholders(outgoing: Outgoing, language: str, phone: str) -> dict[str, str]:
    rendered = render(outgoing.message, language, outgoing.base_url)
    signature = outgoing.settings.get("signature", "")
    message = outgoing.message
    return {"phone": phone, "text": rendered.text, "signature": signature,
            "signed_text": f"【{signature}】{rendered.text}" if signature else rendered.text,
            "reference": message.reference or "", "unit": message.unit or "", "due": local_minute(message.due_at) or "",
            "link": rendered.link or "", "subject": rendered.subject, "id": str(outgoing.delivery_id)}


def _filled(template, values: dict[str, str]):
    if isinstance(template, str):
        return fill_template(template, values)
    if isinstance(template, dict):
        return {k: _filled(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_filled(v, values) for v in template]
    return template


def _flat(body) -> dict:
    """Form and query fields: nested values travel as JSON text (template params, say)."""
    if not isinstance(body, dict):
        raise DeliveryFailed("a form or GET request body must be a mapping of fields", permanent=True)
    return {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in body.items()}


def _check(answer, success: dict, error_field: str | None) -> None:
    statuses = success.get("status")
    if statuses and answer.status not in statuses:
        raise DeliveryFailed(f"the SMS gateway answered HTTP {answer.status}: {answer.text[:200]}")
    if "field" not in success:
        return
    parsed = answer.json()
    found = _at(parsed, success["field"])
    if found is None or str(found) not in {str(v) for v in success["equals"]}:
        reason = _at(parsed, error_field) if error_field else None
        raise DeliveryFailed(f"the SMS gateway refused it: {success['field']}={found!r}"
                             + (f" ({reason})" if reason else f": {answer.text[:200]}"))


def _at(data, path: str):
    for key in path.split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data
