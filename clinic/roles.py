"""The roles people hold in the clinic, declared once.

Each role is a Django group. The groups and the permissions each role carries are written
by a migration (``clinic/migrations/0002_roles.py``) through :func:`sync_roles`, which is
idempotent, so later apps add their permissions by calling it again from a migration.
"""

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MEMBER = "member", _("Member")
    CLINICIAN = "clinician", _("Clinician")
    HUB_COORDINATOR = "hub_coordinator", _("Hub coordinator")
    ADMINISTRATOR = "administrator", _("Administrator")
    ANCHOR_CONTACT = "anchor_contact", _("Anchor contact")


# Roles whose people see clinical records or run the clinic: they must use MFA when
# CLINIC_REQUIRE_STAFF_MFA is on.
STAFF_ROLES = frozenset({Role.CLINICIAN, Role.HUB_COORDINATOR, Role.ADMINISTRATOR})

# Permissions are declared against the user model's content type as ("codename", "name").
PERMISSIONS: dict[str, str] = {
    "view_own_membership": "Can see own membership, shares and invoices",
    "view_clinical_records": "Can see clinical records of members on own care teams",
    "change_clinical_records": "Can change clinical records of members on own care teams",
    "view_all_clinical_records": "Can see every member's clinical records",
    "assign_care_teams": "Can assign care teams",
    "manage_membership": "Can manage applications, the member register and shares",
    "manage_billing": "Can manage contracts, invoices and payments",
    "manage_governance": "Can run general meetings and ballots",
    "view_own_contract": "Can see own organization's contracts and invoices",
}

ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.MEMBER: ("view_own_membership",),
    Role.CLINICIAN: ("view_clinical_records", "change_clinical_records"),
    Role.HUB_COORDINATOR: (
        "view_clinical_records",
        "change_clinical_records",
        "view_all_clinical_records",
        "assign_care_teams",
    ),
    Role.ADMINISTRATOR: ("manage_membership", "manage_billing", "manage_governance"),
    Role.ANCHOR_CONTACT: ("view_own_contract",),
}

# Which home page a person lands on when they hold several roles: the first that matches.
HOME_ORDER: tuple[Role, ...] = (
    Role.ADMINISTRATOR,
    Role.HUB_COORDINATOR,
    Role.CLINICIAN,
    Role.ANCHOR_CONTACT,
    Role.MEMBER,
)


def sync_roles(apps) -> None:
    """Create or update every role's group and permissions (safe to run again)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    user_type, _created = ContentType.objects.get_or_create(app_label="clinic", model="user")
    permissions = {}
    for codename, name in PERMISSIONS.items():
        permission, _created = Permission.objects.update_or_create(
            content_type=user_type, codename=codename, defaults={"name": name}
        )
        permissions[codename] = permission
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set([permissions[c] for c in codenames])


def roles_of(user) -> frozenset[Role]:
    """The roles a user holds, read once per request and kept on the user object."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_clinic_roles", None)
    if cached is None:
        names = user.groups.values_list("name", flat=True)
        cached = remember_roles(user, [name for name in names if name in Role.values])
    return cached


def remember_roles(user, names: Iterable[str]) -> frozenset[Role]:
    """Keep the roles read with the user (``clinic.auth``) for the rest of the request."""
    user._clinic_roles = frozenset(Role(name) for name in names)
    return user._clinic_roles


def has_role(user, role: Role) -> bool:
    return role in roles_of(user)


def has_any_role(user, roles: Iterable[Role]) -> bool:
    return not roles_of(user).isdisjoint(roles)


def grant_role(user, role: Role) -> None:
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=role.value))
    user.__dict__.pop("_clinic_roles", None)


def home_role(user) -> Role | None:
    held = roles_of(user)
    return next((role for role in HOME_ORDER if role in held), None)
