"""What a case's audit events say, for people: timeline rows and the messages it awaits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _

from engine.audit.events import EventType
from engine.definitions.compiled import CompiledVersion
from engine.runtime.views import EventView
from web.forms import LOCAL_TZ
from web.i18n import event_label, pick

CATCHING_TYPES = {"intermediateCatchEvent", "receiveTask"}
HIDDEN_TYPES = {EventType.FLOW_TAKEN}  # flows belong on the diagram, not in the list
DELIVERY_TYPES = {EventType.NOTIFICATION_SENT, EventType.NOTIFICATION_FAILED, EventType.NOTIFICATION_DEAD,
                  EventType.NOTIFICATION_UNCONFIRMED}


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    type: str
    label: str
    actor: str | None
    element: str | None
    details: list[tuple[str, str]]


@dataclass(frozen=True)
class WaitingMessage:
    element_id: str
    message: str
    label: str


def timeline(events: list[EventView], compiled: CompiledVersion, intake: dict) -> list[TimelineRow]:
    """Events people care about, oldest first, with submitted data labelled from its form."""
    rows = []
    for event in events:
        element = compiled.find_element(event.element_id)
        if event.type in HIDDEN_TYPES or (event.type == EventType.ELEMENT_COMPLETED and _is_plumbing(element)):
            continue
        details = []
        if event.type == EventType.INSTANCE_STARTED:
            details = labelled(intake, event.data.get("data") or {})
            if event.data.get("handed_over_from"):  # opened by the triage: name the case it came from
                details.insert(0, (_("转自案件"), str(event.data["handed_over_from"])))
        elif event.type == EventType.CASE_HANDED_OVER:
            details = [(_("转入案件"), str(event.data.get("reference", "")))]
        elif event.type == EventType.TASK_COMPLETED:
            schema = compiled.forms.get(element.get("form") or "", {})
            details = labelled(schema, event.data.get("submitted") or {})
        elif event.type == EventType.COMMENT_ADDED:
            details = [(_("备注内容"), str(event.data.get("text", "")))]
        elif event.type in (EventType.SLA_BREACHED, EventType.SLA_ESCALATED):
            details = _sla_details(event.data, compiled)
        elif event.type in DELIVERY_TYPES:
            details = _delivery_details(event.data)
        elif event.data.get("reason"):
            details = [(_("说明"), str(event.data["reason"]))]
        name = event.data.get("name") if isinstance(event.data.get("name"), str) else None
        process = compiled.processes.get(event.element_id) or {}  # case started/finished name the process
        rows.append(TimelineRow(event.at, event.type, event_label(event.type), event.actor,
                                element.get("name") or name or process.get("name") or event.element_id, details))
    return rows


def _sla_details(data: dict, compiled: CompiledVersion) -> list[tuple[str, str]]:
    """Due time, level, who was told and who got the task, in words people use."""
    def role(name: str) -> str:
        found = compiled.rules.roles.get(name)
        return pick(found.zh, found.en) if found else name

    details = []
    if data.get("due_at"):
        details.append((_("期限"), datetime.fromisoformat(data["due_at"]).astimezone(LOCAL_TZ).strftime("%m-%d %H:%M")))
    if data.get("at"):
        details.append((_("级别"), data["at"]))
    told = [role(name) if kind == "role" else name
            for kind, _sep, name in (entry.partition(":") for entry in data.get("notify") or ())]
    if told:
        details.append((_("已通知"), "、".join(told)))
    if data.get("reassign"):
        details.append((_("转给"), role(data["reassign"])))
    return details


def _delivery_details(data: dict) -> list[tuple[str, str]]:
    """Which channel, to whom, what went wrong and when it is tried again."""
    details = [(_("渠道"), str(data.get("channel"))), (_("接收人"), "、".join(data.get("to") or ()))]
    if data.get("error"):
        details.append((_("说明"), str(data["error"])))
    if data.get("retry_at"):
        details.append((_("下次重试"), datetime.fromisoformat(data["retry_at"]).astimezone(LOCAL_TZ).strftime("%H:%M:%S")))
    return details


def _is_plumbing(element: dict) -> bool:
    """Gateways and unnamed elements: their passing says nothing the next step does not."""
    return "Gateway" in (element.get("type") or "") or not element.get("name")


def labelled(schema: dict, data: dict) -> list[tuple[str, str]]:
    """(label, shown value) pairs of submitted data, in the form's field order."""
    props = schema.get("properties") or {}
    keys = [k for k in props if k in data] + [k for k in data if k not in props]
    return [(pick(props.get(k, {}).get("title"), props.get(k, {}).get("x-title-en")) or k,
             _shown(props.get(k, {}), data[k])) for k in keys]


def _shown(prop: dict, value) -> str:
    if prop.get("format") == "signature" and value:
        return _("已手写签名")  # the picture stays in the record; its base64 text helps no reader
    if isinstance(value, bool):
        return _("是") if value else _("否")
    labels = prop.get("items", prop) if isinstance(value, list) else prop
    zh, en = labels.get("x-enum-labels") or {}, labels.get("x-enum-labels-en") or {}
    if isinstance(value, list):
        return "、".join(pick(zh.get(v), en.get(v)) or str(v) if isinstance(v, str) else str(v) for v in value)
    if isinstance(value, str) and value in zh:
        return pick(zh.get(value), en.get(value))
    if prop.get("format") == "date-time" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    return "" if value is None else str(value)


def waiting_messages(events: list[EventView], compiled: CompiledVersion) -> list[WaitingMessage]:
    """Message catch events reached (a flow into them taken) but not yet completed."""
    reached = Counter(e.data.get("target") for e in events if e.type == EventType.FLOW_TAKEN)
    done = Counter(e.element_id for e in events
                   if e.type in (EventType.ELEMENT_COMPLETED, EventType.ELEMENT_CANCELLED, EventType.TASK_COMPLETED))
    waiting = []
    for outline in compiled.processes.values():
        for element_id, message in outline.get("messages", {}).items():
            element = outline["elements"].get(element_id, {})
            if element.get("type") in CATCHING_TYPES and reached[element_id] > done[element_id]:
                waiting.append(WaitingMessage(element_id, message, element.get("name") or message))
    return waiting
