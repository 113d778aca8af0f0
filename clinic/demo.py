"""The fictional demo cooperative, built by ``manage.py seed_demo``.

Every step looks records up by a natural key before creating them, so running the
command again changes nothing. Apps add their own demo data in their ``demo.py``.
"""

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from clinic.roles import Role, grant_role

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - documented demo login, refused in production

FIRST_NAMES = [
    "Ana", "Bram", "Chidi", "Dara", "Elif", "Femi", "Greta", "Hamid", "Ines", "Jonas",
    "Kaya", "Luca", "Mira", "Nils", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tova",
]  # fmt: skip
LAST_NAMES = ["Alvarez", "Berg", "Costa", "Dubois", "Eze", "Fischer", "Garcia", "Haddad"]


def demo_user(*, email: str, first_name: str, last_name: str, roles: tuple[Role, ...] = ()):
    """A user who can log in with the demo password and a verified email address."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        email=email, defaults={"first_name": first_name, "last_name": last_name}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    for role in roles:
        grant_role(user, role)
    return user


def demo_person_name(index: int) -> tuple[str, str]:
    return FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[index % len(LAST_NAMES)]


def seed() -> None:
    from arcs import demo as arcs_demo
    from billing import demo as billing_demo
    from careteam import demo as careteam_demo
    from governance import demo as governance_demo
    from members import demo as members_demo

    demo_user(
        email="admin@demo.coop", first_name="Ada", last_name="Office", roles=(Role.ADMINISTRATOR,)
    )
    # Order matters: care teams need members, arcs need care teams, invoices need both.
    members_demo.seed()
    careteam_demo.seed()
    arcs_demo.seed()
    billing_demo.seed()
    governance_demo.seed()
