"""The fictional demo cooperative, built by ``manage.py seed_demo``.

Every step looks records up by a natural key before creating them, so running the
command again changes nothing. Apps add their own demo data in their ``demo.py``.
"""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation

from clinic.roles import Role, grant_role

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - documented demo login, refused in production

# People's names in each language the demo can be built in (``seed_demo --language``).
NAMES: dict[str, tuple[list[str], list[str]]] = {
    "en": (
        ["Ana", "Bram", "Chidi", "Dara", "Elif", "Femi", "Greta", "Hamid", "Ines", "Jonas",
         "Kaya", "Luca", "Mira", "Nils", "Olu", "Priya", "Quinn", "Rosa", "Sami", "Tova"],
        ["Alvarez", "Berg", "Costa", "Dubois", "Eze", "Fischer", "Garcia", "Haddad"],
    ),
    "es": (
        ["Lucía", "Mateo", "Carmen", "Javier", "Elena", "Pablo", "Marta", "Sergio", "Nuria",
         "Diego", "Alba", "Hugo", "Rocío", "Iker", "Paula", "Andrés", "Irene", "Óscar", "Julia",
         "Raúl"],
        ["García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro", "Ortiz"],
    ),
    "pt-br": (
        ["Ana", "João", "Beatriz", "Pedro", "Camila", "Lucas", "Fernanda", "Rafael", "Juliana",
         "Gabriel", "Larissa", "Thiago", "Mariana", "Bruno", "Letícia", "Felipe", "Aline",
         "Rodrigo", "Patrícia", "Diego"],
        ["Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Rodrigues", "Almeida"],
    ),
}  # fmt: skip
FIRST_NAMES, LAST_NAMES = NAMES["en"]
# The named demo logins (README, "Demo logins"), by email, in the other languages.
NAMED: dict[str, dict[str, tuple[str, str]]] = {
    "es": {
        "admin@demo.coop": ("Ada", "Oficina"),
        "member@demo.coop": ("María", "Socia"),
        "member2@demo.coop": ("Malik", "Segundo"),
        "doctor@demo.coop": ("Dina", "Médica"),
        "clinician@demo.coop": ("Pablo", "Fisio"),
        "hub@demo.coop": ("Ana", "Enlace"),
        "acupuncture@demo.coop": ("Akira", "Aguja"),
        "chiropractic@demo.coop": ("Carmen", "Columna"),
        "nutrition@demo.coop": ("Nora", "Verde"),
        "behavioural@demo.coop": ("Benito", "Calma"),
        "anchor@demo.coop": ("Amalia", "Ancla"),
        "applicant1@demo.coop": ("Nur", "Solicitante"),
        "applicant2@demo.coop": ("Teo", "Esperanza"),
        "applicant3@demo.coop": ("Wendy", "Recién"),
    },
    "pt-br": {
        "admin@demo.coop": ("Ada", "Escritório"),
        "member@demo.coop": ("Maria", "Cooperada"),
        "member2@demo.coop": ("Malik", "Segundo"),
        "doctor@demo.coop": ("Dina", "Médica"),
        "clinician@demo.coop": ("Paulo", "Fisio"),
        "hub@demo.coop": ("Ana", "Elo"),
        "acupuncture@demo.coop": ("Akira", "Agulha"),
        "chiropractic@demo.coop": ("Carmen", "Coluna"),
        "nutrition@demo.coop": ("Nora", "Verde"),
        "behavioural@demo.coop": ("Bento", "Calma"),
        "anchor@demo.coop": ("Amália", "Âncora"),
        "applicant1@demo.coop": ("Nur", "Candidata"),
        "applicant2@demo.coop": ("Téo", "Esperança"),
        "applicant3@demo.coop": ("Wendy", "Recém"),
    },
}


class DemoLanguageError(Exception):
    """The demo exists in another language than the one asked for."""


def demo_language() -> str:
    """The language the demo is being built in: the active one (seed_demo overrides it)."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return language if language in NAMES else "en"


def demo_name(email: str, first_name: str, last_name: str) -> tuple[str, str]:
    """A named demo login's name in the demo's language."""
    return NAMED.get(demo_language(), {}).get(email, (first_name, last_name))


def demo_user(*, email: str, first_name: str, last_name: str, roles: tuple[Role, ...] = ()):
    """A user who can log in with the demo password and a verified email address, named in
    the demo's language, who reads the clinic in that language."""
    User = get_user_model()
    first_name, last_name = demo_name(email, first_name, last_name)
    user, created = User.objects.get_or_create(
        email=email,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "preferred_language": demo_language(),
        },
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
    first_names, last_names = NAMES[demo_language()]
    return first_names[index % len(first_names)], last_names[index % len(last_names)]


def built_in_language() -> str | None:
    """The language an existing demo was built in (None when there is no demo yet). Demos
    built before languages were recorded were built in English."""
    admin = get_user_model().objects.filter(email="admin@demo.coop").first()
    if admin is None:
        return None
    return admin.preferred_language or "en"


def seed() -> None:
    """Build the demo in the active language (``seed_demo --language``). Its records are
    found again by their names and titles, which are in that language, so a demo is built
    in one language: running it again in another refuses rather than add a second copy."""
    from arcs import demo as arcs_demo
    from billing import demo as billing_demo
    from careteam import demo as careteam_demo
    from governance import demo as governance_demo
    from members import demo as members_demo

    built = built_in_language()
    if built is not None and built != demo_language():
        raise DemoLanguageError(
            f"The demo was built in {built!r}, not {demo_language()!r}. Build it in another "
            "language in an empty database (manage.py flush, then seed_demo --language ...)."
        )
    demo_user(
        email="admin@demo.coop", first_name="Ada", last_name="Office", roles=(Role.ADMINISTRATOR,)
    )
    # Order matters: care teams need members, arcs need care teams, invoices need both.
    members_demo.seed()
    careteam_demo.seed()
    arcs_demo.seed()
    billing_demo.seed()
    governance_demo.seed()
