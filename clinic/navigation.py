"""The header's main navigation: which pages each role reaches from every page."""

import functools
from dataclasses import dataclass

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from clinic.roles import Role


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str


# (the roles that see the link, its URL name, its label), in the header's order.
LINKS = (
    ((Role.MEMBER,), "members:my_membership", _("My membership")),
    ((Role.MEMBER,), "arcs:my_care_arc", _("My care arc")),
    ((Role.MEMBER,), "governance:index", _("Governance")),
    ((Role.CLINICIAN, Role.HUB_COORDINATOR), "careteam:caseload", _("My caseload")),
    ((Role.HUB_COORDINATOR,), "careteam:team_dashboard", _("Team dashboard")),
    ((Role.ADMINISTRATOR,), "administration", _("Administration")),
    ((Role.ADMINISTRATOR,), "members:register", _("Members")),
    ((Role.ANCHOR_CONTACT,), "billing:contract", _("Contract")),
)


def nav_links(roles: frozenset[Role]) -> tuple[NavLink, ...]:
    """The links for someone holding ``roles``, labelled in the active language."""
    return _links(roles, get_language(), get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=256)
def _links(
    roles: frozenset[Role], language: str | None, prefix: str, urlconf: str | None
) -> tuple[NavLink, ...]:
    # Worked out once per set of roles, language and URL prefix, not on every page: the
    # same few links head every page, and reversing and translating them was a tenth of
    # a short page's template work.
    return tuple(
        NavLink(label=str(label), url=reverse(name))
        for allowed, name, label in LINKS
        if roles.intersection(allowed)
    )
