"""`estatedesk notify test USER`: a test message through each channel that reaches one person.

Straight through the sender, not the outbox: the answer is wanted now, and nothing of it
belongs in a case's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from engine.definitions.compiled import current_rules
from engine.errors import DeliveryFailed, NotFound
from engine.policy.notifications import CONTACT_OF, NotificationKind
from engine.scheduling.messages import compose
from engine.scheduling.outbox import NotificationView, Outgoing
from engine.scheduling.recipients import people


@dataclass(frozen=True)
class ProbeResult:
    channel: str
    channel_type: str
    ok: bool
    detail: str


def send_test(session: Session, username: str, sender, now: datetime) -> list[ProbeResult]:
    """Send a test message on each channel any kind of message is routed to for this person (at
    their site, of a type they take); say how each went.

    Email and SMS are tried only when staff.yaml gives the address they need, unless the
    person lists the channel type: then a missing address is a failure worth seeing.
    """
    rules = current_rules(session)
    if rules is None:
        raise NotFound("nothing is deployed yet: deploy the library first")
    found = people(session, [username], rules)
    if username not in found:
        raise NotFound(f"unknown user {username!r}")
    person = found[username]
    policy = rules.notifications
    site = person.site or rules.default_site
    zh, en = compose(None, None, ("这是一条测试消息，收到即说明此渠道可以送达",
                                  "this is a test message: if you read it, this channel reaches you"), None)
    message = NotificationView(0, now, None, username, site, "web", zh, en, None, None,
                               kind=NotificationKind.TEST, link="/notifications")
    results = []
    routed = dict.fromkeys(name for kind in policy.routes for name in policy.routes_for(kind, person.roles))
    for name in routed:
        settings = policy.channel(site, name)
        if settings is None:
            continue
        kind = settings["type"]
        listed = person.channels is not None
        if listed and kind not in person.channels:
            continue
        if kind in CONTACT_OF and not person.recipient.contact(CONTACT_OF[kind]) and not listed:
            continue
        problem = getattr(sender, "unavailable", lambda *_: None)(kind, settings, policy.secrets_file)
        if problem:
            results.append(ProbeResult(name, kind, False, f"not configured: {problem}"))
            continue
        try:
            sender.send(Outgoing(0, message, name, kind, settings, (person.recipient,), policy.base_url(site),
                                 policy.secrets_file))
        except DeliveryFailed as exc:
            results.append(ProbeResult(name, kind, False, str(exc)))
        except Exception as exc:  # noqa: BLE001 - the operator wants every channel's answer, not a traceback
            results.append(ProbeResult(name, kind, False, f"{type(exc).__name__}: {exc}"))
        else:
            results.append(ProbeResult(name, kind, True, "sent"))
    return results
