"""Which sites (管理处) a person works at: the one home of site separation.

Each 管理处 runs its own estate, so staff see and act on their own site's cases only;
people whose work spans the company (a company manager, an auditor, a process designer)
are declared `company_wide: true` in `processes/rules/staff.yaml`. An account with
neither a site nor that declaration sees no case at all: the rule fails closed.

Every read, write, list, search, export and statistic asks these functions, in the
engine (the runtime's steps, the queries' filters) and in the web app and the API.
A case or task of another site answers exactly as one that does not exist (`NotFound`),
so its existence is not revealed; asking by name for another site's figures or for a
new case there is refused (`SiteRefused`, a `PermissionDenied`).
"""

from __future__ import annotations

from sqlalchemy import or_, select

from engine.accounts.users import Actor
from engine.errors import NotFound, SiteRefused
from engine.store.models import User, UserRole


def sites_of(actor: Actor) -> frozenset[str] | None:
    """The sites whose cases `actor` works on; None means every site (company-wide)."""
    if actor.company_wide:
        return None
    return frozenset({actor.site}) if actor.site else frozenset()


def covers(actor: Actor, site: str | None) -> bool:
    """Whether `actor` may see and act on a case of `site`."""
    scope = sites_of(actor)
    return scope is None or site in scope


def check_case_site(actor: Actor, site: str | None, reference) -> None:
    """Refuse a case at another site as if it did not exist (`NotFound`)."""
    if not covers(actor, site):
        raise NotFound(f"case {reference} does not exist")


def check_task_site(actor: Actor, site: str | None, task_id) -> None:
    """Refuse a task of another site's case as if it did not exist (`NotFound`)."""
    if not covers(actor, site):
        raise NotFound(f"task {task_id} does not exist")


def check_site(actor: Actor, site: str | None) -> None:
    """Refuse a site asked for by name that is not `actor`'s (`SiteRefused`)."""
    if not covers(actor, site):
        raise SiteRefused(actor.username, site)


def check_colleague(target: Actor, site: str | None) -> None:
    """A task goes only to someone who works at its case's site."""
    if not covers(target, site):
        raise SiteRefused(target.username, site)


def home_site(actor: Actor, known_sites, default: str | None) -> str | None:
    """Where a case this person opens is, unless they say: their own site, else the default."""
    return actor.site if actor.site in known_sites else default


def chosen_site(actor: Actor, site: str | None) -> str | None:
    """A filter's site as it applies to `actor`: none (all) means their own site unless they are
    company-wide; another site by name is refused."""
    if site:
        check_site(actor, site)
        return site
    if actor.company_wide:
        return None
    check_site(actor, actor.site)  # an account without a site has no figures to see
    return actor.site


def site_condition(actor: Actor, column):
    """A SQL condition keeping rows whose `column` is one of `actor`'s sites (None: no condition)."""
    scope = sites_of(actor)
    return None if scope is None else column.in_(sorted(scope))


def works_at(site: str):
    """A SQL condition on `User`: the people who work at `site` (theirs, or company-wide)."""
    return or_(User.company_wide.is_(True), User.site == site)


def site_names(actor: Actor, sites: dict) -> dict:
    """The deployed sites (id → names) `actor` may choose from, in their order."""
    return {site: names for site, names in sites.items() if covers(actor, site)}


def colleagues(session, wanted) -> dict[tuple[str, str | None], list[tuple[str, str]]]:
    """For each (role, site) of `wanted`, the active people a task of that role at that site may
    be given to, as (username, name): those holding the role at the site, or company-wide."""
    wanted = set(wanted)
    if not wanted:
        return {}
    stmt = (select(UserRole.role, User.username, User.name, User.site, User.company_wide)
            .join(User, User.id == UserRole.user_id)
            .where(UserRole.role.in_(sorted({role for role, _site in wanted})), User.active.is_(True),
                   or_(*(works_at(site) for site in {s for _r, s in wanted})))
            .order_by(User.username))
    found: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for role, username, name, site, company_wide in session.execute(stmt):
        for key in wanted:
            if key[0] == role and (company_wide or key[1] == site):
                found.setdefault(key, []).append((username, name))
    return found
