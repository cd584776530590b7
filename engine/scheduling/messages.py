"""What a notification says: one short sentence with the case reference, the unit, what to do
and the due time, in Chinese and in English; and how it reads on a channel, with a link.

Producers compose both languages when they write the row (the app shows them as they
are); senders render the row for each person's language and add the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from engine.clock import LOCAL_TZ
from engine.policy.notifications import NotificationKind

URGENT = ("【紧急】", "[URGENT] ")
KIND_LABELS = {
    NotificationKind.TASK_ASSIGNED: ("任务通知", "New task"),
    NotificationKind.ESCALATION: ("时限升级", "Escalation"),
    NotificationKind.OVERDUE: ("任务超时", "Overdue"),
    NotificationKind.HANDOVER_DUE: ("交接班", "Shift handover"),
    NotificationKind.ROSTER_PUBLISHED: ("排班已发布", "Roster published"),
    NotificationKind.DELIVERY_FAILED: ("通知未送达", "Notification not delivered"),
    NotificationKind.TEST: ("测试消息", "Test message"),
}
OPEN_LINK = ("打开：", "Open: ")


def local_minute(moment: datetime | None) -> str | None:
    """`11-23 17:10`, in China time, as due times are shown everywhere."""
    return moment.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M") if moment else None


def compose(reference: str | None, unit: str | None, action: tuple[str, str], due_at: datetime | None,
            emergency: bool = False) -> tuple[str, str]:
    """The message in Chinese and English: `【紧急】JJ-20261123-0001（3-2-1201）：what to do，期限 11-23 17:10`."""
    due = local_minute(due_at)
    zh = URGENT[0] * emergency + (reference or "") + (f"（{unit}）" if unit else "") + "：" + action[0]
    en = URGENT[1] * emergency + (reference or "") + (f" (unit {unit})" if unit else "") + ": " + action[1]
    if due:
        zh, en = f"{zh}，期限 {due}", f"{en}; due {due}"
    return zh, en


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the message and its link, for SMS, robots and plain-text mail
    html: str
    link: str | None


def render(message, language: str, base_url: str | None) -> Rendered:
    """`message` (an outbox NotificationView) for a reader of `language` ("zh" or "en")."""
    en = language == "en"
    text = message.text_en if en else message.text
    link = absolute_link(base_url, message.link)
    label = KIND_LABELS.get(message.kind, KIND_LABELS[NotificationKind.ESCALATION])[en]
    subject = URGENT[en] * message.emergency + label + (f" {message.reference}" if message.reference else "")
    plain = f"{text}\n{OPEN_LINK[en]}{link}" if link else text
    html = f"<p>{escape(text)}</p>"
    if link:
        html += f'<p><a href="{escape(link, quote=True)}">{escape(OPEN_LINK[en].rstrip("：: "))}</a></p>'
    return Rendered(subject.strip(), plain, f"<html><body>{html}</body></html>", link)


def absolute_link(base_url: str | None, path: str | None) -> str | None:
    if not path:
        return None
    return f"{base_url.rstrip('/')}{path}" if base_url else path
