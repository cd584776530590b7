"""Lint of `assignee`: a user task that opens held by the person an earlier form chose.

The engineering supervisor 立即安排维修人员 (001/第8篇 4.1 2), 4.2 3)) by choosing the technician
from the staff list (an `x-staff-role` field kept as the account, engine/definitions/form_people.py);
the element that says `assignee` = that field opens in that person's inbox
(engine/runtime/steprows.py).
"""

from __future__ import annotations

from engine.definitions.form_people import STAFF_ROLE
from engine.errors import Finding


def assignee_findings(outlines: dict, forms: dict[str, dict], lane_roles) -> list[Finding]:
    """An element's `assignee` must name a staff-list field of some form, offering the people of
    the element's own role: a typed name or a person who cannot do the task would hold it."""
    offered: dict[str, set[str]] = {}
    for schema in forms.values():
        for name, prop in (schema.get("properties") or {}).items():
            wanted = prop.get(STAFF_ROLE) if isinstance(prop, dict) else None
            if wanted:
                offered.setdefault(name, set()).update({wanted} if isinstance(wanted, str) else wanted)
    findings = []
    for outline in outlines.values():
        for element_id, element in outline.elements.items():
            field = element.get("assignee")
            if not field:
                continue
            role = lane_roles.get(element.get("lane")) if element.get("lane") else None
            where = f"processes/{outline.file}"
            if field not in offered:
                findings.append(Finding(where, element.get("line"), element_id, "error",
                                        f"assignee {field!r} is no form field with x-staff-role"))
            elif role and role not in offered[field]:
                findings.append(Finding(where, element.get("line"), element_id, "error",
                                        f"assignee {field!r} offers {sorted(offered[field])}, not this lane's "
                                        f"role {role!r}"))
    return findings
