"""The new-request form: who called, where, what kind of help — as a JSON Schema."""

from __future__ import annotations

from engine.rules import Rules

from .runtime import is_deployed

# The seven kinds of help request (PROCEDURES.md a–g); the id is also the process id.
CATEGORIES = {
    "emergency_patient": ("急救病人", "Emergency patient"),
    "repair": ("报修", "Repair"),
    "complaint": ("投诉", "Complaint"),
    "consultation": ("咨询", "Consultation"),
    "security_incident": ("治安事件", "Security incident"),
    "disaster": ("灾害事件", "Disaster"),
    "other": ("其他", "Other"),
}
UNIT_PATTERN = r"^\d+-\d+-\d+$"


def intake_schema(rules: Rules | None) -> dict:
    """The intake form; the site list comes from the deployed rules."""
    sites = rules.sites if rules else {}
    return {
        "type": "object",
        "required": ["category", "unit", "phone", "site"],
        "properties": {
            "category": {
                "type": "string", "title": "求助类别", "x-title-en": "Kind of request",
                "enum": list(CATEGORIES),
                "x-enum-labels": {k: v[0] for k, v in CATEGORIES.items()},
                "x-enum-labels-en": {k: v[1] for k, v in CATEGORIES.items()},
            },
            "caller": {"type": "string", "title": "求助人", "x-title-en": "Caller", "maxLength": 50},
            "unit": {
                "type": "string", "title": "单元", "x-title-en": "Unit", "maxLength": 50,
                "description": "楼栋-单元-房号，例如 3-2-1201",
                "x-description-en": "Building-entrance-room, e.g. 3-2-1201",
                "pattern": UNIT_PATTERN,
                "x-pattern-hint": "请按 楼栋-单元-房号 填写，例如 3-2-1201",
                "x-pattern-hint-en": "Write it as building-entrance-room, e.g. 3-2-1201",
            },
            "phone": {"type": "string", "title": "联系电话", "x-title-en": "Phone", "minLength": 3, "maxLength": 50},
            "description": {"type": "string", "title": "情况描述", "x-title-en": "What happened",
                            "maxLength": 2000},
            "site": {
                "type": "string", "title": "服务中心", "x-title-en": "Site", "enum": list(sites),
                "x-enum-labels": {k: v.get("zh", k) for k, v in sites.items()},
                "x-enum-labels-en": {k: v.get("en", k) for k, v in sites.items()},
            },
        },
    }


def default_site(rules: Rules | None, actor_site: str | None) -> str | None:
    if rules is None:
        return None
    return actor_site if actor_site in rules.sites else rules.default_site


def request_process(session, data: dict) -> str | None:
    """The process a validated intake starts, or None while its kind has no procedure online."""
    process_id = data["category"]
    return process_id if is_deployed(session, process_id) else None
