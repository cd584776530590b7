"""The new-request form: who called, where, what kind of help — as a JSON Schema.

Every request starts the help_request process (求助受理), whose registration form
(forms/help_request/register_request.yaml) names the same categories and unit format.
"""

from __future__ import annotations

from engine.definitions.categories import CATEGORIES  # the case pages and the API read it from here too
from engine.definitions.rules import Rules
from engine.runtime.queries import is_deployed

INTAKE_PROCESS = "help_request"
UNIT_PATTERN = r"^\d+-\d+-\d+$"
# Procedures started on their own rather than through help_request: emergencies staff
# find on patrol (001/第5篇), move-in appointments and the shift handover.
DIRECT_PROCEDURES = {
    "water_leak": ("浸水", "Water leak"),
    "gas_leak": ("漏气", "Gas leak"),
    "move_in": ("入伙", "Move-in"),
    "shift_handover": ("交接班", "Shift handover"),
}


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
            "received_at": {"type": "string", "format": "date-time", "title": "接报时间",
                            "x-title-en": "Time received"},
            "site": {
                "type": "string", "title": "服务中心", "x-title-en": "Site", "enum": list(sites),
                "x-enum-labels": {k: v.get("zh", k) for k, v in sites.items()},
                "x-enum-labels-en": {k: v.get("en", k) for k, v in sites.items()},
            },
        },
    }


def direct_start_schema(rules: Rules | None) -> dict:
    """Starting a procedure directly: the site, and who reported it if anyone did."""
    full = intake_schema(rules)["properties"]
    unit = {key: value for key, value in full["unit"].items() if not key.startswith("x-pattern") and key != "pattern"}
    unit["description"], unit["x-description-en"] = "地点或单元，例如 5栋3楼302", "Place or unit, e.g. 5-3-302"
    return {"type": "object", "required": ["site"],
            "properties": {"caller": full["caller"], "unit": unit, "phone": {**full["phone"], "minLength": 0},
                           "description": full["description"], "site": full["site"]}}


def default_site(rules: Rules | None, actor_site: str | None) -> str | None:
    if rules is None:
        return None
    return actor_site if actor_site in rules.sites else rules.default_site


def request_process(session, data: dict) -> str | None:
    """The process a validated intake starts (help_request, for every kind), or None while it is offline."""
    return INTAKE_PROCESS if is_deployed(session, INTAKE_PROCESS) else None
