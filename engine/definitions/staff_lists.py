"""Form fields that name a person: `x-staff-role: technician` (or a list of roles) offers the
staff holding the role.

The engineering supervisor 立即安排维修人员 (001/第8篇 4.1 2), 4.2 3)) by choosing the technician
from the staff list (`staff.yaml`), never by typing a name: at deploy the property's `enum`
becomes the usernames of everyone with the role, labelled with their names, and
`x-staff-sites` records where each works. A case's form offers only the people of its site
(company-wide staff everywhere), and the same narrowed form is what the submission is
checked against, so nobody can name a person of another site through the API either.

A user task whose element says `assignee` = such a field opens held by the person chosen
(engine/runtime/steprows.py), in that person's inbox.
"""

from __future__ import annotations

from engine.errors import Finding

STAFF_ROLE = "x-staff-role"
STAFF_SITES = "x-staff-sites"
ANY_SITE = "*"


def fill_staff_lists(forms: dict[str, dict], rules) -> dict[str, dict]:
    """Return `forms` with every `x-staff-role` property offering the staff of that role."""
    if rules is None:
        return forms
    return {form_id: _with_staff(schema, rules.staff) for form_id, schema in forms.items()}


def _with_staff(schema: dict, staff) -> dict:
    properties = schema.get("properties") or {}
    filled = dict(properties)
    for name, prop in properties.items():
        wanted = prop.get(STAFF_ROLE) if isinstance(prop, dict) else None
        if not wanted:
            continue
        wanted = {wanted} if isinstance(wanted, str) else set(wanted)  # a role, or a list of them
        people = [member for member in staff if wanted & set(member.roles)]
        filled[name] = {**prop, "enum": [m.username for m in people],
                        "x-enum-labels": {m.username: m.name for m in people},
                        "x-enum-labels-en": {m.username: m.name for m in people},
                        STAFF_SITES: {m.username: ANY_SITE if m.company_wide else m.site for m in people}}
    return {**schema, "properties": filled} if filled != properties else schema


# Narrowed schemas are cached like validators (engine/definitions/forms.py): the same dict for
# the same form and site, so its validator is built once; the source schema is kept beside it.
_FOR_SITE: dict[tuple[int, str | None], tuple[dict, dict]] = {}


def form_for_site(schema: dict | None, site: str | None) -> dict | None:
    """`schema` with each staff list narrowed to the people who work at `site`."""
    if not schema or not any(isinstance(p, dict) and STAFF_SITES in p
                             for p in (schema.get("properties") or {}).values()):
        return schema
    key = (id(schema), site)
    cached = _FOR_SITE.get(key)
    if cached is None or cached[0] is not schema:
        if len(_FOR_SITE) > 1024:
            _FOR_SITE.clear()
        cached = (schema, _narrowed(schema, site))
        _FOR_SITE[key] = cached
    return cached[1]


def _narrowed(schema: dict, site: str | None) -> dict:
    properties = dict(schema["properties"])
    for name, prop in schema["properties"].items():
        where = prop.get(STAFF_SITES) if isinstance(prop, dict) else None
        if where is None:
            continue
        here = [u for u in prop["enum"] if where.get(u) in (site, ANY_SITE)]
        properties[name] = {**prop, "enum": here,
                            "x-enum-labels": {u: prop["x-enum-labels"][u] for u in here},
                            "x-enum-labels-en": {u: prop["x-enum-labels-en"][u] for u in here}}
    return {**schema, "properties": properties}


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
