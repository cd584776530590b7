"""Form fields that name people the system knows, so nobody types a colleague's name.

`x-signed-in: true` (a signature, 交班人签名, 主管签名, or "who did this", 交班人): the signed-in
person's confirmation. It is never typed: the step writes the name of whoever submits it,
whatever was sent, for the web, the API and the CLI alike.

`x-staff-role: <role>` (or a list of roles; 值班负责人, 跟进人…): someone else, chosen from the
staff list (processes/rules/staff.yaml) of the role; on an array's items, and in the rows of a
repeated group, too. The version's forms get the list filled in (`enum` of their names, as a
signature or a log book names people, and the sites each works at in `x-staff-sites`); the page
offers those of the case's site, and the step refuses anyone from another site. With
`x-staff-as: username` the field keeps the person's account instead, labelled with the name: a
task whose element says `assignee` = that field opens held by that person (repair's technician,
engine/runtime/steprows.py; lint in engine/definitions/staff_lists.py).
"""

from __future__ import annotations

from engine.errors import FieldError, Finding, FormInvalid

SIGNED_IN = "x-signed-in"
STAFF_ROLE = "x-staff-role"
STAFF_AS = "x-staff-as"  # "username": the account, for a task's holder; default: the name
STAFF_SITES = "x-staff-sites"
EVERY_SITE = "*"  # a company-wide person works on every site's cases


def sign(schema: dict, data: dict, signer: str | None) -> dict:
    """`data` with each `x-signed-in` field set to `signer` (dropped when nobody signs)."""
    signed = dict(data)
    for name, prop in (schema.get("properties") or {}).items():
        if isinstance(prop, dict) and prop.get(SIGNED_IN):
            if signer:
                signed[name] = signer
            else:
                signed.pop(name, None)
    return signed


def fill_staff(schema: dict, staff) -> dict:
    """`schema` with every `x-staff-role` property (or array of them) offering the role's staff."""
    return _each_field(schema, lambda prop: _offering(prop, staff))


def _each_field(schema: dict, change) -> dict:
    """`schema` with `change` applied to each of its fields, in arrays and repeated groups too;
    the very same dict where nothing changed (validators are cached by identity)."""
    properties = schema.get("properties") or {}
    changed = {name: _changed(prop, change) for name, prop in properties.items()}
    same = all(changed[name] is prop for name, prop in properties.items())
    return schema if same else {**schema, "properties": changed}


def _changed(prop, change):
    if not isinstance(prop, dict):
        return prop
    if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
        items = prop["items"]
        new = _each_field(items, change) if items.get("type") == "object" else _changed(items, change)
        return prop if new is items else {**prop, "items": new}
    return change(prop)


def _offering(prop: dict, staff) -> dict:
    """A staff field with its `enum` (names, or accounts labelled by name) and where each works."""
    role = prop.get(STAFF_ROLE)
    if not role:
        return prop
    wanted = {role} if isinstance(role, str) else set(role)
    by_username = prop.get(STAFF_AS) == "username"
    sites: dict[str, set] = {}
    labels: dict[str, str] = {}
    for member in staff:
        if wanted & set(member.roles):
            value = member.username if by_username else member.name
            sites.setdefault(value, set()).add(EVERY_SITE if member.company_wide else member.site)
            labels[value] = member.name
    filled = {**prop, "enum": list(sites), STAFF_SITES: {value: sorted(at) for value, at in sites.items()}}
    if by_username:
        filled.update({"x-enum-labels": labels, "x-enum-labels-en": labels})
    return filled


def staff_options(prop: dict, site: str | None) -> list[str] | None:
    """The names a staff field offers at `site` (None: not a staff field)."""
    sites = prop.get(STAFF_SITES)
    if sites is None:
        return None
    return [name for name in prop.get("enum", []) if site is None or {site, EVERY_SITE} & set(sites.get(name, ()))]


def check_staff(schema: dict, data: dict, site: str | None) -> None:
    """Refuse a person chosen in a staff field who does not work at the case's site."""
    errors = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        field = prop.get("items") if prop.get("type") == "array" else prop
        if isinstance(field, dict) and field.get("type") == "object":  # a repeated group: each row
            for index, row in enumerate(data.get(name) or ()):
                try:
                    check_staff(field, row if isinstance(row, dict) else {}, site)
                except FormInvalid as exc:
                    errors += [FieldError(f"{name}.{index}.{e.field}", e.message, e.zh, e.en) for e in exc.errors]
            continue
        allowed = staff_options(field, site) if isinstance(field, dict) else None
        if allowed is None or name not in data:
            continue
        chosen = data[name] if isinstance(data[name], list) else [data[name]]
        if any(value not in allowed for value in chosen):
            errors.append(FieldError(name, "not on the staff of this site", "不是本服务中心的人员",
                                     "Not on the staff of this site"))
    if errors:
        raise FormInvalid(errors)


def staff_of_site(schema: dict, site: str | None) -> dict:
    """`schema` with each staff field offering only the people who work at `site`."""
    def narrowed(prop: dict) -> dict:
        offered = staff_options(prop, site)
        return prop if offered is None else {**prop, "enum": offered}

    return _each_field(schema, narrowed)


def lint_staff_fields(forms: dict[str, dict], roles) -> list:
    """A staff field must name a role of roles.yaml, or it would offer nobody."""
    return [Finding(f"forms/{form_id}.yaml", None, name, "error",
                    f"x-staff-role names unknown role {role!r} (processes/rules/roles.yaml)",
                    f"x-staff-role 的角色 {role} 不在 processes/rules/roles.yaml 中")
            for form_id, schema in forms.items() for name, wanted in _staff_roles(schema)
            for role in ([wanted] if isinstance(wanted, str) else wanted) if role not in roles]


def _staff_roles(schema: dict, prefix: str = ""):
    """(field, role) of every staff field of `schema`, in repeated groups too."""
    for name, prop in (schema.get("properties") or {}).items():
        field = prop.get("items") if isinstance(prop, dict) and prop.get("type") == "array" else prop
        if not isinstance(field, dict):
            continue
        if field.get("type") == "object":
            yield from _staff_roles(field, f"{prefix}{name}.")
        elif field.get(STAFF_ROLE):
            yield f"{prefix}{name}", field[STAFF_ROLE]
