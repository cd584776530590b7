"""Starting a case from the web: the procedures a person may start, from the catalogue.

Which procedures exist, who may start them and with which start form is the bundle's to say
(engine/definitions/catalogue.py): this module only picks what one person sees.
"""

from __future__ import annotations

from engine.accounts import sites
from engine.definitions.catalogue import Procedure, start_form_of, startable_by
from engine.definitions.compiled import VERSIONS, current_rules
from engine.definitions.rules import Rules
from engine.runtime.preconditions import find_version

# A procedure that declares no start form starts with nothing asked.
EMPTY_START_FORM = {"type": "object", "properties": {}}


def startable(session, actor) -> list[Procedure]:
    """What this person may start, the triage (if theirs) first."""
    triage = triage_of(session)
    return sorted(startable_by(session, actor.roles), key=lambda p: p.process_id != triage)


def triage_of(session) -> str | None:
    """The procedure that takes every request for help (categories.yaml `triage`)."""
    rules = current_rules(session)
    return rules.triage if rules else None


def start_schema(session, process_id: str) -> dict:
    """The start form of the newest version of `process_id` (an empty form if it has none)."""
    compiled = VERSIONS.get(session, find_version(session, process_id, None).id)
    return start_form_of(compiled) or EMPTY_START_FORM


def default_site(rules: Rules | None, actor) -> str | None:
    """Where a case this person opens is, unless they choose (engine/accounts/sites.py)."""
    if rules is None:
        return None
    return sites.home_site(actor, rules.sites, rules.default_site)


def own_sites_form(schema: dict, actor) -> dict:
    """A start form offering only the sites this person may open cases for."""
    site = schema.get("properties", {}).get("site")
    if not site or "enum" not in site:
        return schema
    narrowed = {**site, "enum": [value for value in site["enum"] if sites.covers(actor, value)]}
    return {**schema, "properties": {**schema["properties"], "site": narrowed}}
